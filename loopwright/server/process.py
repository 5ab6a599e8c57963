"""`loopwright serve` as a child process: what the demo's live-load phase and the server tests run against,
so clients and server do not share one interpreter (and its GIL), as in production."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from loopwright.errors import LoopwrightError


class ServeProcess:
    """Start `python -m loopwright serve` on a free port; `stop()` sends SIGTERM (graceful: traces drain)."""

    def __init__(self, workspace: Path, *, env: dict[str, str] | None = None, workers: int = 1):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # Its output goes to a file, not a pipe nobody reads (a full pipe would block the server).
        self.log = tempfile.NamedTemporaryFile("w+", prefix="loopwright-serve-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loopwright", "serve", "--workspace", str(workspace), "--port", str(self.port),
             "--workers", str(workers)],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )

    def output(self) -> str:
        """What the server has printed so far."""
        return Path(self.log.name).read_text(errors="replace")

    def wait_ready(self, timeout: float = 120.0) -> ServeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.proc.kill()
        raise LoopwrightError(f"loopwright serve did not start: {' '.join(self.output()[-500:].split())}")

    def stop(self, timeout: float = 60.0) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> ServeProcess:
        return self.wait_ready()

    def __exit__(self, *exc) -> None:
        self.stop()
