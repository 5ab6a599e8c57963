"""Measuring a deployment switch under live load: how long until no new request is served the old
artifact, and whether any request failed meanwhile (the demo's incident and the rollback test use it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SwitchResult:
    """Every request as (start time, HTTP status, version served: a corpus commit by default), and when the switch happened."""

    switched_at: float
    outcome: Any
    requests: list[tuple[float, int, str | None]] = field(default_factory=list)
    replicas: list[str | None] = field(default_factory=list)  # per request, the replica that answered (`replica_header`)

    @property
    def failed(self) -> int:
        return sum(status != 200 for _, status, _ in self.requests)

    def took(self, old_commit: str) -> float:
        """Seconds from the switch to the start of the last request still served `old_commit` (0 if none)."""
        late = [start for start, _, commit in self.requests if start >= self.switched_at and commit == old_commit]
        return max(late) - self.switched_at if late else 0.0

    def took_on_each(self, old_commit: str) -> dict[str, float]:
        """`took`, per replica that answered after the switch: when each one last served `old_commit`."""
        late: dict[str, float] = {}
        for (start, _, commit), replica in zip(self.requests, self.replicas, strict=True):
            if replica is not None and start >= self.switched_at:
                late.setdefault(replica, 0.0)
                if commit == old_commit:
                    late[replica] = max(late[replica], start - self.switched_at)
        return late

    def served_after(self, seconds: float) -> list[str | None]:
        """Commits served to requests that started more than `seconds` after the switch."""
        return [commit for start, _, commit in self.requests if start > self.switched_at + seconds]

    def served_before(self) -> list[str | None]:
        return [commit for start, _, commit in self.requests if start < self.switched_at]


def served_commit(body: dict[str, Any]) -> str | None:
    """The corpus commit a reply's `loopwright` object names."""
    return (body.get("loopwright", {}).get("retrieval") or {}).get("commit")


def switch_under_load(
    url: str, key: str, model: str, switch: Callable[[], Any], *, questions: Sequence[str], clients: int = 32,
    before_s: float = 2.0, after_s: float = 2.5, served: Callable[[dict[str, Any]], str | None] = served_commit,
    replica_header: str | None = None,
) -> SwitchResult:
    """`clients` callers ask the gateway at `url` the `questions` in turn, in a loop; after `before_s`, `switch()`
    runs; `after_s` later all stop. `served(reply)` says which version answered: by default the corpus commit (the
    questions should then be answered from the corpus). Behind a load balancer, `replica_header` names the response
    header that says which replica answered (`SwitchResult.took_on_each`)."""
    requests: list[tuple[float, int, str | None]] = []
    replicas: list[str | None] = []
    lock, stop = threading.Lock(), threading.Event()

    def client(i: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            n = 0
            while not stop.is_set():
                started = time.monotonic()
                body = {"model": model, "messages": [{"role": "user", "content": questions[(i + n) % len(questions)]}], "user": f"load-{i}"}
                replica = None
                try:
                    r = http.post("/v1/chat/completions", json=body)
                    commit = served(r.json()) if r.status_code == 200 else None
                    status = r.status_code
                    replica = r.headers.get(replica_header) if replica_header else None
                except httpx.HTTPError:
                    status, commit = 0, None
                with lock:
                    requests.append((started, status, commit))
                    replicas.append(replica)
                n += 1

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as warm:
        for q in questions:  # models and indexes loaded before the clock starts
            warm.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": q}]})
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(before_s)
    switched_at = time.monotonic()
    outcome = switch()
    time.sleep(after_s)
    stop.set()
    for t in threads:
        t.join(30)
    return SwitchResult(switched_at, outcome, requests, replicas)
