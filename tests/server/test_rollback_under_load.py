"""`rollback corpus` under 32 concurrent clients against `loopwright serve` (its own process, as in production):
in effect within a second, no failed request, no other slot touched."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx

from loopwright.corpus import commits
from loopwright.release import releases
from loopwright.release.deployment import get_deployment, set_stable

QUESTIONS = ["What is the APY on the Larkspur Saver account?", "How much is a domestic wire?", "When are branches open on Saturday?"]


def _serve(ws):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopwright", "serve", "--workspace", str(ws.root), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"loopwright serve did not start: {proc.stderr.read()[-2000:]}")


def test_rollback_takes_effect_within_a_second_with_no_failed_requests(bank, new_key):
    old = get_deployment(bank).stable("corpus")
    commits.stage_certify(bank, "flexpay-2-0")
    new = commits.commit(bank, "certify FlexPay 2.0")
    set_stable(bank, "corpus", new.ref)
    key = new_key(bank)
    proc, url = _serve(bank)
    try:
        _run_load(bank, url, key, old, new)
    finally:
        proc.terminate()
        proc.wait(60)


def _run_load(bank, url, key, old, new):
    before = {slot: s.stable.digest for slot, s in get_deployment(bank).slots.items() if slot != "corpus"}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        for q in QUESTIONS:  # warm: embedder and both commits' indexes loaded before the clock starts
            assert http.post("/v1/chat/completions", json={"model": "larkspur-assistant", "messages": [{"role": "user", "content": q}]}).status_code == 200

    results: list[tuple[float, int, str | None]] = []  # (start time, status, corpus commit served)
    lock = threading.Lock()
    stop = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            n = 0
            while not stop.is_set():
                started = time.monotonic()
                body = {"model": "larkspur-assistant", "messages": [{"role": "user", "content": QUESTIONS[(i + n) % 3]}], "user": f"c{i}"}
                try:
                    r = http.post("/v1/chat/completions", json=body)
                    commit = (r.json().get("loopwright", {}).get("retrieval") or {}).get("commit") if r.status_code == 200 else None
                    status = r.status_code
                except httpx.HTTPError:
                    status, commit = 0, None
                with lock:
                    results.append((started, status, commit))
                n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    time.sleep(2.0)  # load established on the new commit
    t_rollback = time.monotonic()
    receipt = releases.rollback(bank, "corpus", reason="test under load")
    time.sleep(2.5)
    stop.set()
    for t in threads:
        t.join(30)

    assert receipt.after["digest"] == old.digest
    assert results and all(status == 200 for _, status, _ in results), {s for _, s, _ in results}
    served_new_after = [start for start, _, commit in results if start >= t_rollback and commit == new.digest]
    took = (max(served_new_after) - t_rollback) if served_new_after else 0.0
    assert took < 1.0, f"new commit still served {took:.2f} s after the rollback"
    late = [commit for start, _, commit in results if start > t_rollback + 1.0]
    assert late and set(late) == {old.digest}, (len(results), len(late))
    assert any(commit == new.digest for start, _, commit in results if start < t_rollback)
    after = {slot: s.stable.digest for slot, s in get_deployment(bank).slots.items() if slot != "corpus"}
    assert after == before
