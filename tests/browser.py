"""Headless Debian Chromium driven over the DevTools protocol (a websocket), for the console's tests.

No driver binary and no browser download: Chromium from Debian's packages, started with
`--remote-debugging-port=0`, one page per test module. A JavaScript dialog (the console's "Roll back?")
is accepted as a person clicking OK would. Without Chromium the tests fail naming the install command;
`LOOPWRIGHT_SKIP_BROWSER=1` skips them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect


def chromium() -> str:
    if os.environ.get("LOOPWRIGHT_SKIP_BROWSER") == "1":
        pytest.skip("LOOPWRIGHT_SKIP_BROWSER=1")
    exe = os.environ.get("LOOPWRIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.fail("Chromium is needed for the console's browser tests: `apt-get update && apt-get install -y chromium` "
                    "(Debian), or set LOOPWRIGHT_SKIP_BROWSER=1 to skip.", pytrace=False)
    return exe


class Page:
    """One browser tab: navigate, evaluate, click and wait for the next page load."""

    def __init__(self, ws_url: str):
        self._stack = ExitStack()
        self._ws = self._stack.enter_context(connect(ws_url, max_size=None, open_timeout=30))
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.send("Page.enable")
        self.send("Network.enable")

    def send(self, method: str, timeout: float = 60.0, **params) -> dict[str, Any]:
        self._id += 1
        mine = self._id
        self._ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if message.get("id") == mine:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        if "method" not in message:
            return  # the answer to a dialog we accepted
        self.events.append(message)
        if message["method"] == "Page.javascriptDialogOpening":
            self._id += 1
            self._ws.send(json.dumps({"id": self._id, "method": "Page.handleJavaScriptDialog", "params": {"accept": True}}))

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(i)
            self._event(json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.01))))

    def goto(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self, selector: str = "body") -> str:
        return self.eval(f"(document.querySelector({json.dumps(selector)}) || {{innerText: ''}}).innerText")

    def click(self, selector: str) -> None:
        """Click and wait for the page it loads (a form's POST, its redirect, the page after)."""
        self.events.clear()
        self.eval(f"document.querySelector({json.dumps(selector)}).click()")
        self.wait_for("Page.loadEventFired")

    @property
    def url(self) -> str:
        return self.eval("location.href")

    def close(self) -> None:
        self._stack.close()


class Browser:
    """Headless Chromium with no network beyond 127.0.0.1 (every host name is unresolvable)."""

    def __init__(self, profile: Path):
        self.process = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        deadline, line, self.address = time.monotonic() + 60, "", None
        while time.monotonic() < deadline and self.address is None:
            line = self.process.stderr.readline()
            if match := re.search(r"DevTools listening on ws://([^/]+)/", line):
                self.address = match[1]
            elif not line and self.process.poll() is not None:
                break
        if self.address is None:
            self.close()
            pytest.fail(f"chromium did not open its DevTools port: {line!r}", pytrace=False)

    def page(self) -> Page:
        target = httpx.put(f"http://{self.address}/json/new?about:blank", timeout=30).json()
        return Page(target["webSocketDebuggerUrl"])

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
