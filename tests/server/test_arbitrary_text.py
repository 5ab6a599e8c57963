"""Property: any string in any text field of any endpoint is answered (never a 5xx), and the next call is traced.

One request once switched tracing off for the life of the process (issue 14: a lone
surrogate killed the trace writer). Hypothesis sends arbitrary text, lone surrogates,
NUL and control characters included, in every text field of every endpoint; after each,
a good call must answer and its trace must be readable, and the server must stay ready.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live import MODEL, assert_openai_error, lw

QUESTION = "What is the APY on the Larkspur Saver?"

# Every code point, lone surrogates included (Hypothesis leaves those out unless asked), plus the
# strings that broke something before: a lone surrogate, NUL, a card number, very long text.
TEXT = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=60),
    st.sampled_from(["\ud800 fee", "fee \udfff", "\x00", "4000 0021 6244 9662", "x" * 5000, "", " ", "\u202e", "tr_" + "0" * 24]),
)


def _utf8(text: str) -> str:
    """Percent-encoded bytes of `text`, a lone surrogate written as its (invalid) UTF-8 bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _message(**fields) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], **fields}


# field -> (method, path, JSON body or None), for a text `t` and a real trace id `tr`
FIELDS = {
    "chat.model": lambda t, tr: ("POST", "/v1/chat/completions", {**_message(), "model": t}),
    "chat.content": lambda t, tr: ("POST", "/v1/chat/completions", _message(messages=[{"role": "user", "content": t}])),
    "chat.content+question": lambda t, tr: ("POST", "/v1/chat/completions", _message(messages=[{"role": "user", "content": f"{QUESTION} {t}"}])),
    "chat.system": lambda t, tr: ("POST", "/v1/chat/completions", _message(messages=[{"role": "system", "content": t}, {"role": "user", "content": QUESTION}])),
    "chat.part.text": lambda t, tr: ("POST", "/v1/chat/completions", _message(messages=[{"role": "user", "content": [{"type": "text", "text": t}]}])),
    "chat.part.type": lambda t, tr: ("POST", "/v1/chat/completions", _message(messages=[{"role": "user", "content": [{"type": t, "text": QUESTION}]}])),
    "chat.name": lambda t, tr: ("POST", "/v1/chat/completions", _message(messages=[{"role": "user", "content": QUESTION, "name": t}])),
    "chat.role": lambda t, tr: ("POST", "/v1/chat/completions", _message(messages=[{"role": t, "content": QUESTION}])),
    "chat.user": lambda t, tr: ("POST", "/v1/chat/completions", _message(user=t)),
    "feedback.trace_id": lambda t, tr: ("POST", "/v1/feedback", {"trace_id": t, "thumbs": 1}),
    "feedback.text": lambda t, tr: ("POST", "/v1/feedback", {"trace_id": tr, "score": 4, "text": t, "consent": True}),
    "traces.since": lambda t, tr: ("GET", f"/v1/traces?since={_utf8(t)}", None),
    "traces.intent": lambda t, tr: ("GET", f"/v1/traces?intent={_utf8(t)}", None),
    "traces.outcome": lambda t, tr: ("GET", f"/v1/traces?outcome={_utf8(t)}", None),
    "trace.id": lambda t, tr: ("GET", f"/v1/traces/{_utf8(t)}", None),
}


def test_any_text_in_any_field_is_answered_and_the_next_call_is_traced(live):
    first = lw(live.ask(QUESTION))["trace_id"]
    statuses: dict[int, int] = {}

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(field=st.sampled_from(sorted(FIELDS)), text=TEXT)
    def probe(field: str, text: str) -> None:
        method, path, body = FIELDS[field](text, first)
        content = None if body is None else json.dumps(body).encode("ascii")  # \\ud800 stays an escape, as a client may send it
        response = live.http.request(method, path, content=content, headers={"Content-Type": "application/json"})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (field, text, response.status_code, response.text)
        if response.status_code >= 400:
            assert_openai_error(response, response.status_code)
        after = live.http.post("/v1/chat/completions", json=_message())
        assert after.status_code == 200, (field, text, after.text)
        stored = live.http.get(f"/v1/traces/{after.json()['loopwright']['trace_id']}")
        assert stored.status_code == 200 and stored.json()["outcome"] == "answered", (field, text, stored.text)

    probe()
    assert live.http.get("/healthz").status_code == 200 and live.gateway.writer.alive
    assert statuses.get(400, 0) > 0 and statuses.get(200, 0) > 0, statuses  # both sides were explored
