"""`loopwright serve` stopped with SIGTERM under load: in-flight calls finish and no answered call loses its trace."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from live import MODEL

from loopwright.errors import NotFound
from loopwright.observe.traces import get_trace
from loopwright.server.process import ServeProcess
from loopwright.serving.auth import create_key

QUESTIONS = [
    "What is the APY on the Larkspur Saver?",
    "What is the late fee for FlexPay 2.0?",
    "What are the branch hours on Saturday?",
    "How do I dispute a card charge?",
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigterm_under_load_drains_every_trace(triaged_bank):
    ws = triaged_bank
    key, _ = create_key(ws, tenant="larkspur-retail", role="customer")
    server = ServeProcess(ws.root, env={"HF_HUB_OFFLINE": "1"})  # the bank fixture's database URL is inherited
    proc, url = server.proc, server.url
    headers = {"Authorization": f"Bearer {key}"}
    try:
        server.wait_ready()
        warm = httpx.post(url + "/v1/chat/completions", headers=headers, timeout=120, json=_body(QUESTIONS[0]))
        assert warm.status_code == 200, warm.text  # models loaded before the load starts

        answered: list[str] = []
        statuses: list[int | str] = []
        stop = threading.Event()
        lock = threading.Lock()

        def caller(i: int) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                n = 0
                while not stop.is_set():
                    try:
                        response = client.post("/v1/chat/completions", json=_body(QUESTIONS[(i + n) % len(QUESTIONS)]))
                    except httpx.TransportError as exc:  # the server closed: expected once it stops accepting
                        with lock:
                            statuses.append(type(exc).__name__)
                        return
                    n += 1
                    with lock:
                        statuses.append(response.status_code)
                        if response.status_code == 200:
                            answered.append(response.json()["loopwright"]["trace_id"])

        def wait_for(n: int) -> None:
            load_deadline = time.monotonic() + 60
            while len(answered) < n:
                assert time.monotonic() < load_deadline, "the load never got going"
                time.sleep(0.01)

        # Hold SQLite's write lock from here, so the traces of the calls answered meanwhile are still
        # queued when SIGTERM lands: only a drain on shutdown can save them.
        lock_holder = sqlite3.connect(ws.database_url.removeprefix("sqlite:///"), isolation_level=None)
        with ThreadPoolExecutor(16) as pool:
            for i in range(16):
                pool.submit(caller, i)
            wait_for(40)
            lock_holder.execute("BEGIN IMMEDIATE")
            queued_from = len(answered)
            wait_for(queued_from + 30)
            proc.send_signal(signal.SIGTERM)
            sent_at = len(answered)
            time.sleep(1.5)
            lock_holder.execute("COMMIT")
            stop.set()
        lock_holder.close()
        code = proc.wait(timeout=60)
        output = server.output()
    finally:
        server.stop()

    assert code in (0, -signal.SIGTERM), output  # uvicorn re-raises the signal once it has shut down cleanly
    assert "Traceback" not in output, output
    assert not [s for s in statuses if isinstance(s, int) and s >= 500], statuses
    assert len(answered) >= sent_at >= queued_from + 30
    missing = []
    for trace_id in answered:
        try:
            record = get_trace(ws, trace_id, tenant="larkspur-retail")
        except NotFound:
            missing.append(trace_id)
            continue
        assert record["output"] and record["outcome"] in ("answered", "declined")
    assert not missing, f"{len(missing)} of {len(answered)} answered calls have no trace"


def _body(question: str) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": question}]}
