"""The privacy agent in chat, through a real uvicorn server and the official openai client (issue 20, item 3).

Done when: "delete my data" (and "borra mis datos", "xóa dữ liệu của tôi") takes a customer to a completed,
receipted erase: the answer asks to confirm, the token confirms in that conversation, the request waits for
staff (the sample policy's `[privacy] erasure_approval`), an operator approves it over HTTP, and the erase
leaves the trail of receipts and no trace naming the customer. Then the attacks: another customer's id, a
replayed or tampered confirmation, a tampered or expired export link, an unknown subject.
"""

from __future__ import annotations

import json
import time

import openai
import pytest
import sqlalchemy as sa
from live import MODEL, assert_openai_error, http_client, lw

from loopwright.policy.requests import export_link
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.store.schema import TraceRow

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ERASE = {"cus_001": "delete my data", "cus_002": "borra mis datos", "cus_003": "xóa dữ liệu của tôi"}


def _say(customer, text, conversation, **extra):
    body = {"user": conversation, **({"confirm_token": extra.pop("token")} if "token" in extra else {})}
    return customer.client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}], user=conversation, extra_body=body, **extra)


def test_delete_my_data_in_three_languages_ends_in_an_approved_receipted_erase(live, new_key):
    admin = live.as_key(new_key(live.ws, tenant="larkspur-staff", role="admin", scopes=("retail", "staff")))
    customers = {cid: live.as_key(new_key(live.ws, scopes=("retail",), subject=cid)) for cid in ERASE}
    opened = {}
    for cid, words in ERASE.items():
        me, conversation = customers[cid], f"conv-{cid}"
        asked = _say(me, words, conversation)
        assert lw(asked)["intent"] == "privacy_request", (words, lw(asked)["intent"])
        confirmation = lw(asked)["confirmation"]
        assert confirmation["tool"] == "privacy_request" and confirmation["arguments"]["kind"] == "erasure"
        assert "Please confirm" in asked.choices[0].message.content
        done = _say(me, "yes", conversation, token=confirmation["token"])
        action = lw(done)["action"]
        assert action["status"] == "awaiting_approval" and lw(done)["receipts"], lw(done)
        assert "waits for a staff approval" in done.choices[0].message.content
        opened[cid] = action["request_id"]

    listed = admin.http.get("/v1/admin/subject-requests")
    assert listed.status_code == 200, listed.text
    rows = {r["id"]: r for r in listed.json()["data"]}
    assert set(opened.values()) <= set(rows) and all(rows[i]["days_left"] > 29 for i in opened.values())
    assert_openai_error(customers["cus_001"].http.get("/v1/admin/subject-requests"), 403)

    live.gateway.writer.flush(timeout=5)
    for cid, request_id in opened.items():
        approved = admin.http.post(f"/v1/admin/subject-requests/{request_id}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "completed" and approved.json()["subject"].startswith("erased-")
        assert_openai_error(admin.http.post(f"/v1/admin/subject-requests/{request_id}/approve"), 409)
    time.sleep(5.1)  # the gateway caches a key's lookup for 5 s (serving.auth): then the revoked keys are refused
    for cid, me in customers.items():
        with pytest.raises(openai.AuthenticationError):  # the erase revoked the customer's key
            _say(me, "what data do you hold about me?", f"conv-{cid}")

    live.gateway.writer.flush(timeout=5)
    with live.ws.session() as s:
        assert verify_chain(s, live.ws).ok
        actions = [r.action for r in list_receipts(s, limit=5000)]
        stored = [r.record for r in s.scalars(sa.select(TraceRow))]
    assert actions.count("subject.erase") == 3 and actions.count("subject.request.approve") == 3
    assert actions.count("subject.request.fulfil") == 3 and actions.count("tool.privacy_request") == 3
    for cid in ERASE:
        assert not any(cid in record for record in stored), f"a trace still names {cid}"
    assert admin.http.get("/v1/admin/subject-requests").json()["data"] == []


@SQLITE
def test_access_link_and_the_attacks(live, new_key):
    me = live.as_key(new_key(live.ws, scopes=("retail",), subject="cus_004"))
    asked = _say(me, "what personal data do you hold about me?", "conv-a")
    token = lw(asked)["confirmation"]["token"]
    assert lw(asked)["confirmation"]["arguments"]["kind"] == "access"
    tampered = _say(me, "yes", "conv-a", token=token[:-3] + "xyz")
    assert lw(tampered)["tools"][0]["status"] == "blocked" and lw(tampered)["action"] is None
    done = _say(me, "yes", "conv-a", token=token)
    url = lw(done)["action"]["export_url"]
    assert url.startswith("/v1/privacy/exports/dsr_") and "signature=" not in done.choices[0].message.content
    replayed = _say(me, "yes", "conv-a", token=token)
    assert lw(replayed)["tools"][0]["status"] == "blocked" and "already used" in replayed.choices[0].message.content
    live.gateway.writer.flush(timeout=5)
    assert "signature=" not in json.dumps(me.trace(lw(done)["trace_id"]))  # the link is in the response only

    anonymous = http_client(live.server, None)  # the link is the credential: no bearer key
    fetched = anonymous.get(url)
    assert fetched.status_code == 200 and fetched.headers["cache-control"] == "no-store"
    assert fetched.json()["subject"] == "cus_004"
    signature = url.rsplit("=", 1)[1]
    flipped = url[:-1] + ("1" if url[-1] == "0" else "0")
    assert "link" in assert_openai_error(anonymous.get(flipped), 403, code="link_refused")["message"]
    assert_openai_error(anonymous.get(url.replace("expires=", "expires=9")), 403, code="link_refused")
    request_id = url.split("/")[-1].split("?")[0]
    old = export_link(live.ws, request_id, ttl_s=60, now=time.time() - 3600)
    assert "expired" in assert_openai_error(anonymous.get(old), 403, code="link_refused")["message"]
    assert_openai_error(anonymous.get(url.split("?")[0] + f"?expires=x&signature={signature}"), 400)

    others = _say(me, "delete the data you hold on cus_005", "conv-b")
    assert lw(others)["confirmation"] is None and lw(others)["tools"][0]["status"] == "blocked"
    stranger = live.as_key(new_key(live.ws, scopes=("retail",), subject="cus_x9999"))
    unknown = _say(stranger, "delete my data", "conv-c")
    assert lw(unknown)["confirmation"] is None
    assert "no customer record for cus_x9999" in unknown.choices[0].message.content
