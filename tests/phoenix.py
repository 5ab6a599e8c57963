"""Arize Phoenix, a real OpenTelemetry receiver, started on free ports for the export tests.

Phoenix lives in a virtualenv of its own (`.venv-phoenix`, made by
`scripts/services.sh`): it is a service the tests talk to over OTLP/HTTP, like
PostgreSQL and Redis, and its many dependencies stay out of loopwright's own
environment. `LOOPWRIGHT_PHOENIX` names another `phoenix` executable.

    with Phoenix() as px:                 # px.url: http://127.0.0.1:PORT (OTLP/HTTP at /v1/traces)
        ...
        px.spans("loopwright")            # every span of a project, read back through Phoenix's REST API
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def phoenix_executable() -> str | None:
    """The `phoenix` command the tests start, if one is installed."""
    named = os.environ.get("LOOPWRIGHT_PHOENIX")
    if named:
        return named if Path(named).exists() else None
    local = ROOT / ".venv-phoenix" / "bin" / "phoenix"
    return str(local) if local.exists() else shutil.which("phoenix")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Phoenix:
    def __init__(self, executable: str, *, startup_s: float = 420.0):
        self.executable, self.startup_s = executable, startup_s
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Phoenix:
        self._dir = tempfile.TemporaryDirectory(prefix="phoenix-")
        env = {**os.environ, "PHOENIX_WORKING_DIR": self._dir.name, "PHOENIX_HOST": "127.0.0.1",
               "PHOENIX_PORT": str(self.port), "PHOENIX_GRPC_PORT": str(_free_port())}
        self._log = open(Path(self._dir.name) / "phoenix.log", "wb")  # noqa: SIM115 - closed in __exit__
        self._proc = subprocess.Popen([self.executable, "serve"], env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self._tail()
                self.__exit__()
                raise RuntimeError(f"phoenix exited with {self._proc.returncode}: {tail}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        tail = self._tail()
        self.__exit__()
        raise RuntimeError(f"phoenix did not answer within {self.startup_s:.0f} s: {tail}")

    def __exit__(self, *exc) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._log.close()
        self._dir.cleanup()

    def _tail(self) -> str:
        self._log.flush()
        return (Path(self._dir.name) / "phoenix.log").read_text(errors="replace")[-800:]

    def spans(self, project: str) -> list[dict]:
        """Every span Phoenix holds for `project` (its REST API pages by cursor)."""
        out, cursor = [], None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = httpx.get(f"{self.url}/v1/projects/{project}/spans", params=params, timeout=10)
            if response.status_code == 404:  # no span has reached the project yet
                return out
            response.raise_for_status()
            body = response.json()
            out += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return out
