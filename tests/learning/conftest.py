"""The sample bank with triage deployed, and Week 3's traffic served through the real request path.

`serve_traffic(ws, requests)` sends each request as its customer through an in-process `Gateway`
(traces written synchronously) and returns, per request, the trace id and the intent triage predicted.
"""

from __future__ import annotations

import pytest

from loopwright.serving.pipeline import ChatRequest, Gateway


def serve_traffic(ws, requests) -> list[dict]:
    gateway = Gateway(ws, watch=False)
    served = []
    try:
        for r in requests:
            principal = gateway.principal_for(r["tenant"], "customer", r["customer_id"], key_id=f"key_{r['customer_id']}")
            completion = gateway.complete(
                ChatRequest("larkspur-assistant", [{"role": "user", "content": r["text"]}]), principal, sync_trace=True
            )
            served.append({**r, "trace_id": completion.trace_id, "predicted": completion.loopwright["intent"]})
    finally:
        gateway.close()
    return served


@pytest.fixture
def serve():
    return serve_traffic
