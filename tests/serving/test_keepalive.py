"""The pass-through path's keep-alive client: connections reused, a stale one replaced without a failed call,
timeouts and broken answers raised as the backend's errors, chunked bodies read whole."""

from __future__ import annotations

import asyncio
import json

import pytest

from loopwright.errors import ConfigError
from loopwright.serving.backends import BackendError, GenerationRequest
from loopwright.serving.backends.openai_compat import OpenAICompatBackend
from loopwright.serving.backends.keepalive import KeepAlivePool, UpstreamConnectionError, UpstreamTimeout


class Server:
    """A raw HTTP/1.1 server on 127.0.0.1: answers each request by `mode`, counts connections and requests."""

    def __init__(self, mode: str = "keep"):
        self.mode, self.connections, self.requests = mode, 0, []

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                body = await reader.readexactly(length)
                self.requests.append((head.split(b"\r\n")[0].decode(), body))
                if self.mode == "silent":
                    await asyncio.sleep(10)
                if self.mode == "break":  # half an answer, then the connection goes
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"cho")
                    await writer.drain()
                    break
                if self.mode in ("500-once", "400") and (self.mode == "400" or len(self.requests) == 1):
                    writer.write(b"HTTP/1.1 %s\r\ncontent-length: 2\r\n\r\n{}" % (b"400 Bad Request" if self.mode == "400" else b"500 Oops"))
                elif self.mode == "500-once":
                    answer = json.dumps({"choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}]}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer))
                elif self.mode == "chunked":
                    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n")
                else:
                    answer = b'{"echo": ' + body + b"}"
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer))
                await writer.drain()
                if self.mode == "close-after":  # as an upstream whose idle keep-alive timed out
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def run(coro):
    return asyncio.run(coro)


def test_one_connection_serves_every_call_in_turn():
    async def main():
        async with Server() as server:
            pool = KeepAlivePool(server.url, headers={"authorization": "Bearer sk-test"})
            answers = [await pool.post("/chat/completions", b'{"n": %d}' % i, timeout_s=5) for i in range(5)]
            assert answers == [(200, b'{"echo": {"n": %d}}' % i) for i in range(5)]
            assert server.connections == 1
            assert server.requests[0][0] == "POST /v1/chat/completions HTTP/1.1"
            pool.close()

    run(main())


def test_concurrent_calls_open_connections_and_keep_them():
    async def main():
        async with Server() as server:
            pool = KeepAlivePool(server.url)
            await asyncio.gather(*(pool.post("/x", b"{}", timeout_s=5) for _ in range(4)))
            opened = server.connections
            await asyncio.gather(*(pool.post("/x", b"{}", timeout_s=5) for _ in range(4)))
            assert opened <= 4 and server.connections == opened  # the second wave reused the first's

    run(main())


def test_a_connection_the_upstream_closed_while_idle_is_replaced_without_a_failure():
    async def main():
        async with Server("close-after") as server:
            pool = KeepAlivePool(server.url)
            for i in range(3):
                await asyncio.sleep(0.05)  # the server's close reaches us, or not yet: either way the call succeeds
                assert (await pool.post("/x", b'{"i": %d}' % i, timeout_s=5))[0] == 200
            assert server.connections == 3 and len(server.requests) == 3

    run(main())


def test_timeouts_broken_answers_and_no_listener_raise():
    async def main():
        async with Server("silent") as server:
            with pytest.raises(UpstreamTimeout):
                await KeepAlivePool(server.url).post("/x", b"{}", timeout_s=0.2)
        async with Server("break") as server:
            with pytest.raises(UpstreamConnectionError):
                await KeepAlivePool(server.url).post("/x", b"{}", timeout_s=5)
            assert len(server.requests) == 1  # a fresh connection that broke mid-answer is not sent again
        with pytest.raises(UpstreamConnectionError, match="cannot connect"):
            await KeepAlivePool(server.url).post("/x", b"{}", timeout_s=5)  # closed: nothing listens there

    run(main())


def test_a_chunked_answer_is_read_whole():
    async def main():
        async with Server("chunked") as server:
            assert await KeepAlivePool(server.url).post("/x", b"{}", timeout_s=5) == (200, b'{"a": 1}')

    run(main())


def test_a_base_url_that_is_not_http_is_a_config_error():
    with pytest.raises(ConfigError):
        KeepAlivePool("ftp://example.org/v1")


def test_the_backend_retries_a_server_error_on_the_pool_and_not_a_bad_request():
    """The first try runs outside tenacity; a retryable failure still gets the policy's retries, a 400 none."""
    request = GenerationRequest(question="hi", messages=[{"role": "user", "content": "hi"}], evidence=[], prompt=None, model="m")

    async def main():
        async with Server("500-once") as server:
            backend = OpenAICompatBackend({"base_url": server.url, "max_retries": 2})
            assert (await backend.agenerate(request)).text == "hello"
            assert len(server.requests) == 2
        async with Server("500-once") as server:
            with pytest.raises(BackendError, match="InternalServerError"):
                await OpenAICompatBackend({"base_url": server.url, "max_retries": 0}).agenerate(request)
            assert len(server.requests) == 1
        async with Server("400") as server:
            with pytest.raises(BackendError, match="BadRequestError"):
                await OpenAICompatBackend({"base_url": server.url, "max_retries": 2}).agenerate(request)
            assert len(server.requests) == 1

    run(main())
