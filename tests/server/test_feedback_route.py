"""`POST /v1/feedback` for learning: rubric scores on the policy's scales, CSAT, a correction whose author is
the calling key (never the body), each stored typed with its consent flag; bad input is a 400 naming it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from live import http_client, lw

from loopwright.serving.auth import create_key
from loopwright.store.schema import FeedbackRow

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_rubric_csat_and_a_correction_are_stored_with_their_author(live):
    trace_id = live.client.chat.completions.create(
        model="larkspur-assistant", messages=[{"role": "user", "content": "the merchant promised a refund, when does chargeback grace end?"}]
    )
    trace_id = lw(trace_id)["trace_id"]
    graded = live.http.post("/v1/feedback", json={"trace_id": trace_id, "rubric": {"resolved": 2, "accurate": 1}, "csat": 2, "consent": True})
    assert graded.status_code == 200 and graded.json()["outcome"] == "defect"  # a rubric mean under half its scale

    secret, agent_key = create_key(live.ws, tenant="larkspur-retail", role="agent", scopes=("retail",))
    agent = http_client(live.server, secret)
    body = {"trace_id": trace_id, "correction": "chargeback_grace", "consent": True}
    assert agent.post("/v1/feedback", json=body).status_code == 200
    for bad, named in (
        ({"rubric": {"speed": 5}}, "unknown rubric criterion 'speed'"),
        ({"rubric": {"tone": 9}}, "rubric score tone=9 is outside its scale 1..5"),
        ({"csat": 6}, "csat"),
        ({"correction": "Chargeback Grace!"}, "correction must be an intent name"),
        ({"correction": "chargeback_grace", "author": "someone-else"}, "author"),
    ):
        response = agent.post("/v1/feedback", json={"trace_id": trace_id, **bad})
        assert response.status_code == 400 and named in response.json()["error"]["message"], (bad, response.text)
    agent.close()

    with live.ws.engine.connect() as conn:
        rows = conn.execute(sa.select(FeedbackRow).where(FeedbackRow.trace_id == trace_id).order_by(FeedbackRow.id)).all()
    assert [(r.rubric, r.csat, r.correction, r.author_role, r.consent) for r in rows] == [
        ('{"accurate":1,"resolved":2}', 2, None, "customer", True),
        (None, None, "chargeback_grace", "agent", True),
    ]
    assert rows[1].author == agent_key.key_id
