"""Debian's HAProxy in front of gateway replicas: the load balancer of the replica test and bench.

    with HAProxy({"r1": "127.0.0.1:8001", "r2": "127.0.0.1:8002"}) as lb:
        httpx.get(lb.url + "/healthz").headers["x-loopwright-replica"]   # "r1" or "r2"

`scripts/services.sh` installs the `haproxy` package when it is missing. Round robin
over keep-alive connections, a health check on `/healthz` every 500 ms, and every
answer names the replica that gave it (`X-Loopwright-Replica`), so a test can tell
what each replica served. Runs in the foreground (`-db`) as a child of the caller;
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

REPLICA_HEADER = "x-loopwright-replica"

CONFIG = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    # a replica saturated by the bench answers its health check late, not never: don't take it out for that
    timeout check 5s
    option http-keep-alive
    # a connection a replica closed is tried again on another: no failed request while one restarts
    retries 2
    option redispatch
frontend gateway
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /healthz
    http-response set-header X-Loopwright-Replica %[srv_name]
{servers}
"""


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)


class HAProxy:
    """`haproxy -db` balancing over `servers` (name -> host:port); `stop()` ends it."""

    def __init__(self, servers: dict[str, str]):
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed: run scripts/services.sh (apt-get install haproxy)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="loopwright-haproxy-")
        lines = "\n".join(f"    server {name} {address} check inter 500ms" for name, address in servers.items())
        config = Path(self._dir.name) / "haproxy.cfg"
        config.write_text(CONFIG.format(port=self.port, servers=lines))
        self._log = open(Path(self._dir.name) / "haproxy.log", "w+b")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30.0) -> HAProxy:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"haproxy did not start: {self.output()[-500:]}")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> HAProxy:
        return self.wait_ready()

    def __exit__(self, *exc) -> None:
        self.stop()
