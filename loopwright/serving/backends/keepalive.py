"""A small HTTP/1.1 keep-alive client on the event loop, for the pass-through path's upstream call.

    pool = KeepAlivePool("http://127.0.0.1:8000/v1", headers={"authorization": "Bearer sk-..."})
    status, body = await pool.post("/chat/completions", b'{"model": ...}', timeout_s=30)

Why not the openai SDK's or httpx's async client: on the pass-through path the upstream
call was the largest part of the gateway's CPU (py-spy: 36% of the GIL-holding samples
with the openai SDK's sync client and httpx's pool, behind a thread hop; 11% with this
pool, bench/README.md). httpx's async client keeps the per-request models, header
normalisation and anyio locks that the profile charged to httpx; it was not measured
here. This client does one thing: a
POST with a JSON body on a connection kept open, its response parsed by httptools
(the C parser uvicorn uses).

One pool per event loop (a connection belongs to the loop that opened it). A request
that fails on a reused connection before any byte of its answer came back (the
upstream closed it while idle) is sent once more on a new connection; every other
failure is the caller's to retry.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import httptools

from loopwright.errors import ConfigError

__all__ = ["KeepAlivePool", "UpstreamConnectionError", "UpstreamTimeout"]


class UpstreamConnectionError(ConnectionError):
    """The upstream could not be reached, or closed the connection before answering."""


class UpstreamTimeout(TimeoutError):
    """The upstream did not answer within the timeout."""


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request in flight at a time; `answer` resolves to (status, body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future | None = None
        self.body: list[bytes] = []
        self.received = False  # any byte of the current answer: only before that is a retry safe
        self.keep = False
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamConnectionError(f"malformed HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(UpstreamConnectionError("the upstream closed the connection" + (f": {exc}" if exc else "")))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.keep = self.parser.should_keep_alive()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    def send(self, data: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future:
        self.answer, self.body, self.received, self.keep = loop.create_future(), [], False, False
        self.transport.write(data)
        return self.answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class KeepAlivePool:
    """Keep-alive connections to one origin (`base_url`'s scheme, host and port), opened as needed and reused."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, max_idle: int = 64):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"not an http(s) URL: {base_url!r}")
        self.host, self.port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
        self.prefix = url.path.rstrip("/")
        self._ssl = ssl.create_default_context() if url.scheme == "https" else None
        host_header = url.netloc.rpartition("@")[2]
        fixed = {"host": host_header, "content-type": "application/json", "accept": "application/json", **(headers or {})}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._idle: list[_Connection] = []
        self._max_idle = max_idle
        self._loop: asyncio.AbstractEventLoop | None = None

    async def post(self, path: str, body: bytes, *, timeout_s: float) -> tuple[int, bytes]:
        """POST `body` (JSON) to `prefix + path`; the answer's status and body. Raises `UpstreamTimeout` or
        `UpstreamConnectionError`; a non-2xx status is returned, not raised."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections opened on another loop cannot be used on this one
            self._drop_idle()
            self._loop = loop
        request = (f"POST {self.prefix}{path} HTTP/1.1\r\ncontent-length: {len(body)}\r\n".encode("latin-1")
                   + self._head + b"\r\n" + body)
        deadline = loop.time() + timeout_s
        while True:
            conn, reused = self._take()
            if conn is None:
                conn = await self._open(loop, deadline)
            answer = conn.send(request, loop)
            timer = loop.call_at(deadline, _expire, answer)
            try:
                status, data = await answer
            except UpstreamConnectionError:
                conn.close()
                if reused and not conn.received:  # a stale idle connection: the request never reached anyone
                    continue
                raise
            except asyncio.CancelledError:
                conn.close()  # half a request or answer on the wire: the connection cannot be reused
                if answer.cancelled() and not _cancelled_by_caller():
                    raise UpstreamTimeout(f"no answer within {timeout_s:g} s") from None
                raise
            finally:
                timer.cancel()
            if conn.keep and not conn.closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
            else:
                conn.close()
            return status, data

    def _take(self) -> tuple[_Connection | None, bool]:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn, True
        return None, False

    async def _open(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port, ssl=self._ssl,
                                       server_hostname=self.host if self._ssl else None),
                timeout=max(deadline - loop.time(), 0.0),
            )
        except (TimeoutError, asyncio.TimeoutError):
            raise UpstreamTimeout("connecting timed out") from None
        except OSError as exc:
            raise UpstreamConnectionError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
        return conn

    def _drop_idle(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    def close(self) -> None:
        """Close the idle connections (on their own loop, if it still runs; else they go with the process)."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed() and loop.is_running():
            loop.call_soon_threadsafe(self._drop_idle)
        else:
            self._idle.clear()


def _expire(answer: asyncio.Future) -> None:
    if not answer.done():
        answer.cancel()


def _cancelled_by_caller() -> bool:
    """Whether the running task itself is being cancelled (a client that went away), not only the answer."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
