"""The operator console in a real browser: one bank workspace, one `loopwright serve` app under uvicorn and one
headless Chromium for the module (SQLite: the console's queries are the library's, tested on both engines there).

Served traffic first (customer calls through the real gateway, one of them hostile), a second policy put
live by hand so there is something to roll back; then the browser signs in and clicks.
"""

from __future__ import annotations

import shutil
import time

import httpx
import pytest
from browser import Browser
from itsdangerous import TimestampSigner
from live import MODEL
from upstream import ThreadedServer

from loopwright.observe.advisor import advise, record_call
from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.registry.receipts import list_receipts
from loopwright.release import releases
from loopwright.samples.bank.install import CONFIG_DIR
from loopwright.server.app import create_app
from loopwright.server.console.session import serializer
from loopwright.serving.auth import create_key

HOSTILE = 'Is FlexPay late? <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def console(tmp_path_factory, bank_embeddings, triage_fit):
    """(workspace, server, keys) with traffic served; torn down after the module."""
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.samples.bank.install import install_sample
    from loopwright.training.triage import fit_triage
    from loopwright.workspace import init_workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LOOPWRIGHT_DATABASE_URL", raising=False)
        mp.setenv("LOOPWRIGHT_ACTOR", "tester")
        ws = init_workspace(tmp_path_factory.mktemp("console") / "bank", sample="bank", as_of=REFERENCE_DATE)
        shutil.copytree(bank_embeddings, ws.state_dir / "embeddings")
        install_sample(ws)
        fit_triage(ws, deploy=True)
        # policy/bank@2 live by hand: the rollback clicked below returns the slot to policy/bank@1
        text = (CONFIG_DIR / "policy.toml").read_bytes() + b"\n# a second version, to roll back from\n"
        second = artifacts.register(ws, "policy", "bank", {"policy.toml": text})
        set_stable(ws, "policy", second.ref, reason="a test puts a second policy live")
        # a prompt bundle on a canary (gate skipped, and receipted so): the abort clicked below ends it
        prompt = get_deployment(ws).stable("prompt")
        files = {path: artifacts.read_file(ws, prompt, path) for path in prompt.files}
        files[sorted(files)[0]] += b"\n"
        candidate = artifacts.register(ws, "prompt", prompt.name, files)
        releases.start(ws, "prompt", candidate.ref, canary=0.5, skip_gate=True, reason="a test's canary")
        keys = {role: create_key(ws, tenant="larkspur-retail", role=role, subject="cus_001" if role == "customer" else None)[0]
                for role in ("admin", "agent", "customer")}
        server = ThreadedServer(create_app(ws, poll_s=0.05)).start()
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys['customer']}"}, timeout=60) as http:
            for question in ("What is the late fee for FlexPay 2.0?", "How do I freeze my card?", HOSTILE):
                response = http.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": question}]})
                assert response.status_code == 200, response.text
        server.app.state.gateway.writer.flush(timeout=10)
        _curated_corrections(ws)
        record_call(ws, advise(ws), [], asked_by="a test, before a change", planned=("router",))
        yield ws, server, keys
        server.stop()
        ws.close()


def _curated_corrections(ws) -> None:
    """Six call-centre corrections, consented, curated into dataset/curated-triage: the spot-check queue."""
    from loopwright.learning.curate import curate
    from loopwright.learning.feedback import Author, record_feedback
    from loopwright.policy.loader import deployed_policy
    from loopwright.samples.bank.callcentre import adapter_traffic
    from loopwright.serving.pipeline import ChatRequest, Gateway

    gateway, policy = Gateway(ws, watch=False), deployed_policy(ws)
    try:
        for r in adapter_traffic(5)[:6]:
            principal = gateway.principal_for(r["tenant"], "customer", r["customer_id"], key_id=f"key_{r['customer_id']}")
            done = gateway.complete(ChatRequest(MODEL, [{"role": "user", "content": r["text"]}]), principal, sync_trace=True)
            record_feedback(ws, done.trace_id, author=Author("agent", "agt_dev.patel"), policy=policy, correction=r["intent"], consent=True)
    finally:
        gateway.close()
    curate(ws, "triage")


@pytest.fixture(scope="module")
def page(console, tmp_path_factory):
    browser = Browser(tmp_path_factory.mktemp("chromium"))
    tab = browser.page()
    yield tab
    tab.close()
    browser.close()


def sign_in(page, server, key: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.eval(f"document.querySelector('#key').value = {key!r}")
    page.click("#sign-in")


def test_a_customer_key_cannot_enter(console, page):
    ws, server, keys = console
    sign_in(page, server, keys["customer"])
    assert "cannot enter the console" in page.text("#error")
    assert all(c["name"] != "lw_console" for c in page.send("Network.getCookies", urls=[server.url + "/console/"])["cookies"])
    page.goto(f"{server.url}/console/releases")
    assert page.url.startswith(f"{server.url}/console/login"), "without a session every page sends the browser to sign in"


def test_an_operator_sees_every_page(console, page):
    ws, server, keys = console
    sign_in(page, server, keys["admin"])
    assert "signed in as admin" in page.text("#done")
    cookie = next(c for c in page.send("Network.getCookies", urls=[server.url + "/console/"])["cookies"] if c["name"] == "lw_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
    assert page.eval("document.cookie") == "", "the session cookie is out of the page's scripts' reach"

    kpis = page.text("#kpis")
    assert "p95 ms" in kpis and "cache hit" in kpis
    assert page.eval("document.querySelectorAll('.chart polyline').length") >= 9  # 3 latency, 5 rates, 1 cost
    assert page.eval("document.querySelectorAll('.chart line.marker').length") >= 1  # the policy's deploy.set
    stages = page.text("#stages")
    assert "training" in stages and "self-learning" in stages and "inference" in stages
    html = page.eval("document.body.innerHTML")
    assert "triage.fit" in html and "dataset.curate" in html, "the fit and the curation are priced jobs"
    assert "served no call yet" in page.text("main"), "the curated dataset trained nothing yet: its cost stands apart"
    assert "availability" in page.text("#objectives")

    page.goto(f"{server.url}/console/releases")
    assert "policy/bank@2" in page.text("#slot-policy")
    page.goto(f"{server.url}/console/traces?intent=&language=en")
    listed = page.eval("[...document.querySelectorAll('#traces a')].map(a => a.textContent)")
    assert len(listed) >= 2
    page.click("#traces a")
    assert page.text("h1").startswith("Trace tr_")
    assert "corpus/bank@1" in page.text("#bundle") and len(page.text("#fingerprint")) == 64
    page.goto(f"{server.url}/console/receipts?verify=true")
    assert "audit chain intact" in page.text("#audit") and "deploy.set" in page.text("#receipts")
    page.goto(f"{server.url}/console/spotchecks")
    assert "Spot checks" in page.text("h1")
    page.goto(f"{server.url}/console/advisor")
    assert "served calls" in page.text("main")
    assert "a test, before a change" in page.text("#calls") and "planned router" in page.text("#calls")
    html = page.eval("document.documentElement.outerHTML")
    assert "http://" not in html.replace(server.url, "") and "https://" not in html, "everything is served locally"


def test_script_in_trace_text_is_escaped(console, page):
    ws, server, keys = console
    sign_in(page, server, keys["admin"])
    page.goto(f"{server.url}/console/traces?intent=&outcome=")
    hostile = page.eval("[...document.querySelectorAll('#traces a')].map(a => a.getAttribute('href'))")
    texts = []
    for href in hostile:
        page.goto(server.url + href)
        texts.append(page.text("#input"))
    assert any("<script>window.__pwned = 1</script>" in t for t in texts), texts
    assert page.eval("window.__pwned === undefined") and page.eval("document.querySelectorAll('#input img, #input script').length") == 0


def test_a_write_without_the_csrf_token_is_refused(console, page):
    ws, server, keys = console
    sign_in(page, server, keys["admin"])
    page.goto(f"{server.url}/console/releases")
    page.eval("document.querySelector('#slot-policy input[name=csrf]').remove()")
    page.click("#slot-policy button.rollback")
    assert "CSRF" in page.text("#error") and "nothing was changed" in page.text("#error")
    assert get_deployment(ws).stable("policy").ref == "policy/bank@2"
    # the same from outside the browser, with the session cookie but a forged token
    cookie = next(c["value"] for c in page.send("Network.getCookies", urls=[server.url + "/console/"])["cookies"] if c["name"] == "lw_console")
    forged = httpx.post(f"{server.url}/console/slots/policy/rollback", data={"csrf": "guessed"}, cookies={"lw_console": cookie})
    assert forged.status_code == 403 and get_deployment(ws).stable("policy").ref == "policy/bank@2"


def test_a_live_canary_shows_its_analysis_and_an_abort_clicked_ends_it(console, page):
    ws, server, keys = console
    sign_in(page, server, keys["admin"])
    page.goto(f"{server.url}/console/releases")
    (release,) = releases.active(ws)
    section = page.text(f"#release-{release.id}")
    assert "Analysis now: wait" in section and "Gate: skipped (a test's canary)" in section
    page.click(f"#release-{release.id} button.abort")
    assert f"aborted the canary of {release.candidate.ref} on prompt" in page.text("#done")
    assert releases.active(ws) == [] and get_deployment(ws).slots["prompt"].canary is None
    with ws.session() as s:
        receipt = list_receipts(s, subject=f"release/{release.id}")[-1]
    assert receipt.action == "release.abort" and receipt.actor.startswith("console:admin:")
    assert "No release is in its canary phase." in page.text("main")


def test_a_rollback_clicked_in_the_browser_takes_effect_and_writes_a_receipt(console, page):
    ws, server, keys = console
    sign_in(page, server, keys["admin"])
    page.goto(f"{server.url}/console/releases")
    page.eval("document.querySelector('#slot-policy input[name=reason]').value = 'clicked in a test'")
    page.click("#slot-policy button.rollback")  # its confirm() is accepted
    assert "rolled back policy: now policy/bank@1" in page.text("#done")
    assert get_deployment(ws).stable("policy").ref == "policy/bank@1"
    with ws.session() as s:
        receipt = list_receipts(s, subject="slot/policy")[-1]
    assert receipt.action == "rollback" and receipt.actor.startswith("console:admin:")
    assert receipt.details["reason"] == "clicked in a test" and receipt.id in page.text("#done")
    assert "policy/bank@1" in page.text("#slot-policy")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys['customer']}"}, timeout=60) as http:
        for _ in range(100):  # the gateway sees the change at its next poll of the deployment version
            body = http.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "How do I freeze my card?"}]}).json()
            served = http.get(f"/v1/traces/{body['loopwright']['trace_id']}").json()["bundle"]["policy"]["ref"]
            if served == "policy/bank@1":
                break
    assert served == "policy/bank@1", "the next calls are served by the policy rolled back to"


def test_an_agent_reviews_spot_checks_but_cannot_touch_releases(console, page):
    ws, server, keys = console
    sign_in(page, server, keys["agent"])
    assert page.url.startswith(f"{server.url}/console/traces") and "Releases" not in page.text("nav")
    page.goto(f"{server.url}/console/spotchecks")
    assert "dataset/curated-triage@1" in page.text("#queue") and "0 of 6 reviewed" in page.text("#progress")
    cells = page.eval("[...document.querySelectorAll('#queue tr')[1].querySelectorAll('td')].map(td => td.textContent)")
    assert cells[1].strip().isdigit() and int(cells[1]) > 0, f"the queue's new-items count: {cells}"
    item = page.eval("document.querySelector('form.item input[name=item]').value")
    page.click("form.item button[value=approve]")
    assert f"approve {item}: 1 of 6 reviewed" in page.text("#done") and "1 of 6 reviewed" in page.text("#progress")
    with ws.session() as s:
        review = list_receipts(s, action="dataset.review")[-1]
    assert review.actor.startswith("console:agent:") and review.details["scripted"] is False
    page.goto(f"{server.url}/console/releases")
    assert "may not use this page" in page.text("#error")


def principal_of(ws, key: str) -> str:
    from loopwright.serving.auth import Authenticator

    return Authenticator(ws).authenticate(f"Bearer {key}").key_id


def test_the_console_answers_bad_requests_with_a_page_not_a_traceback(console, monkeypatch):
    ws, server, keys = console
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/console/traces").status_code == 303  # no session: to the sign-in page
        login = http.get("/console/login")
        token = login.text.split('name="csrf" value="')[1].split('"')[0]
        assert http.post("/console/login", data={"key": keys["admin"]}).status_code == 403  # the form's token is required
        refused = http.post("/console/login", data={"key": keys["customer"], "csrf": token})
        assert refused.status_code == 403 and "cannot enter the console" in refused.text and "lw_console" not in refused.cookies
        wrong = http.post("/console/login", data={"key": "lw-not-a-key", "csrf": token})
        assert wrong.status_code == 401 and "invalid or revoked API key" in wrong.text
        assert http.post("/console/login", data={"key": keys["admin"], "csrf": token}).status_code == 303
        assert http.get("/console/traces/tr_000000000000000000000000").status_code == 404
        bad = http.get("/console/traces", params={"offset": "-1"})
        assert bad.status_code == 400 and "offset" in bad.text and "<html" in bad.text
        assert http.get("/console/receipts", params={"limit": "x"}).status_code == 400
        session = http.cookies["lw_console"]
    with monkeypatch.context() as mp:  # a session signed nine hours ago: past its eight
        mp.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 9 * 3600)
        old = serializer(ws, "console-session").dumps({"key": principal_of(ws, keys["admin"]), "csrf": "x"})
    with httpx.Client(base_url=server.url, timeout=30, cookies={"lw_console": old}) as http:
        expired = http.get("/console/")
        assert expired.status_code == 303 and "expired" in expired.headers["location"]
    tampered = session[:-2] + ("AA" if not session.endswith("AA") else "BB")
    with httpx.Client(base_url=server.url, timeout=30, cookies={"lw_console": tampered}) as http:
        assert http.get("/console/").status_code == 303, "an altered session is no session"
    with httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {keys['admin']}"}) as http:
        assert http.get("/v1/traces/tr_000000000000000000000000").json()["error"]["code"] == "not_found"  # the API keeps its shape
