"""The inbox and the simulator in a real browser (Playwright driving the system Chromium)."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import urllib.request
from werkzeug.serving import make_server

from bot.inbox.auth import create_advisor
from tests.conftest import REPO, make_settings
from tests.support.line_events import body_of, postback_event, signed_headers, text_event
from tests.support.processes import start_worker, wait_until, worker_env

pytestmark = pytest.mark.browser
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"


@pytest.fixture
def live(tmp_path, redis_server, redis_client, fake_line, database_url):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from bot.app import create_app
    from bot.devtools.fake_translate import FakeTranslateServer
    from bot.services import build_services

    translate = FakeTranslateServer()
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, dev_mode=True,
                             translate_backend="google", google_project="demo",
                             translate_api_endpoint=translate.url)
    services = build_services(settings)
    with services.sessions.begin() as session:
        create_advisor(session, "sato@npo.example", PASSWORD, "advisor", "佐藤")
    server = make_server("127.0.0.1", 0, create_app(settings, services), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = worker_env(settings)
    env.update(TRANSLATE_BACKEND="google", GOOGLE_CLOUD_PROJECT="demo", TRANSLATE_API_ENDPOINT=translate.url)
    worker = start_worker(settings, env=env)
    url = f"http://127.0.0.1:{server.server_port}"
    yield {"url": url, "services": services, "line": fake_line}
    worker.terminate()
    worker.wait(timeout=10)
    server.shutdown()
    translate.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield instance
        instance.close()


def post_events(url: str, *events: dict, line=None) -> int:
    for event in events:
        if line and event.get("replyToken"):
            line.register_reply_token(event["replyToken"], event["source"]["userId"])
    body = body_of(*events)
    request = urllib.request.Request(url + "/callback", data=body, headers=signed_headers(body, "test-channel-secret"))
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def login(page, url):
    page.goto(url + "/inbox/login")
    page.fill("input[name=email]", "sato@npo.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/inbox/")


def test_advisor_answers_a_vietnamese_mother_from_the_inbox(live, browser):
    url, line = live["url"], live["line"]
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, url)
    assert post_events(url, postback_event("Uvi-browser", "lang:vi"), line=line) == 200
    assert post_events(url, postback_event("Uvi-browser", "privacy:agree"), line=line) == 200
    assert post_events(url, postback_event("Uvi-browser", "f:main_menu:menu:person"), line=line) == 200
    assert post_events(url, text_event("Uvi-browser", "Con tôi bị sốt"), line=line) == 200
    assert post_events(url, text_event("Uvi-browser", "<script>alert('x')</script>"), line=line) == 200
    page.wait_for_selector("[data-case]", timeout=20_000)           # appears without a reload
    page.screenshot(path=str(ARTIFACTS / "inbox-phone-list.png"), full_page=True)
    page.click("[data-case]")
    page.wait_for_selector("text=子どもが熱を出しています")          # the Japanese translation is shown
    assert page.locator(".msg .body", has_text="<script>alert('x')</script>").count() == 1   # shown as text
    assert dialogs == []                                                                    # and never run
    page.click("#action-claim")
    page.fill("#reply_text", "明日の10時に窓口に来てください。")
    page.click("#preview")
    page.wait_for_selector("#final_text")
    assert page.input_value("#final_text") == "Vui lòng đến quầy lúc 10 giờ ngày mai."
    assert "こんにちは" not in page.inner_text("#back_translation")
    page.screenshot(path=str(ARTIFACTS / "inbox-phone-preview.png"), full_page=True)
    page.click("#send")
    # By reply when her last message is under 50 s old and unanswered (free), else by push.
    assert wait_until(lambda: any(m["endpoint"] in ("push", "reply") and m["messages"][0].get("sender")
                                  for m in line.messages_to("Uvi-browser")), timeout=20)
    push = [m for m in line.messages_to("Uvi-browser") if m["messages"][0].get("sender")][-1]
    assert (push.get("retryKey") or push["endpoint"] == "reply") and push["messages"][0]["text"] == "Vui lòng đến quầy lúc 10 giờ ngày mai."
    page.reload()
    page.wait_for_selector("text=送信済み")
    page.screenshot(path=str(ARTIFACTS / "inbox-phone-case.png"), full_page=True)
    desktop = browser.new_page(viewport={"width": 1366, "height": 900})
    login(desktop, url)
    desktop.screenshot(path=str(ARTIFACTS / "inbox-desktop.png"), full_page=True)


def test_form_without_csrf_token_is_rejected_in_the_browser(live, browser):
    url = live["url"]
    page = browser.new_page()
    login(page, url)
    status = page.evaluate("""async () => {
        const r = await fetch('/inbox/cases/1/action', {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'action=claim'});
        return r.status; }""")
    assert status == 400


def test_simulator_chat_in_vietnamese(live, browser):
    url, line = live["url"], live["line"]
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(url + "/simulator/")
    page.select_option("#lang", "vi")
    page.click("#follow")
    page.wait_for_selector("#quick button", timeout=20_000)
    page.fill("#text", "menu")
    page.click("form#send button")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "simulator-phone.png"), full_page=True)
    user_id = page.evaluate("localStorage.getItem('sim-user')")
    assert len(line.messages_to(user_id)) >= 2


def test_dashboard_with_generated_cases_renders_in_the_browser(live, browser):
    from bot.inbox.auth import create_advisor
    from tests.support.generated import generate_cases
    services = live["services"]
    generate_cases(services.sessions, 10_000)
    with services.sessions.begin() as session:
        create_advisor(session, "admin@npo.example", PASSWORD, "admin", "管理者")
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(live["url"] + "/inbox/login")
    page.fill("input[name=email]", "admin@npo.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live["url"] + "/inbox/admin/dashboard")
    assert page.locator("svg").count() == 4
    page.screenshot(path=str(ARTIFACTS / "dashboard-desktop.png"), full_page=True)


def push_card(line, user_id: str, title: str) -> None:
    """A buttons card sent to the user through the fake LINE API, as the bot sends cards."""
    import json
    card = {"type": "template", "altText": title, "template": {
        "type": "buttons", "title": title, "text": "Tap one",
        "actions": [{"type": "message", "label": "Yes", "text": "yes"}, {"type": "message", "label": "No", "text": "no"}]}}
    body = json.dumps({"to": user_id, "messages": [card]}).encode()
    request = urllib.request.Request(line.url + "/v2/bot/message/push", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": "Bearer test-access-token"})
    urllib.request.urlopen(request, timeout=5).read()


def test_simulator_date_picker_and_cards_in_a_long_chat(live, browser):
    """The date picker sends LINE's postback with params; cards keep their height in a long chat."""
    url, line = live["url"], live["line"]
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(url + "/simulator/")
    page.select_option("#lang", "en")
    page.click("#follow")
    page.click("text=I agree", timeout=20_000)
    user_id = page.evaluate("localStorage.getItem('sim-user')")
    for number in range(8):                              # a long chat: button cards pile up above
        push_card(line, user_id, f"Card {number}")
    page.evaluate("api('postback', {data: 'f:main_menu:menu:birth'})")     # the menu's "after the birth"
    picker = page.wait_for_selector(".picker input", timeout=20_000)
    sent_before = len(line.messages_to(user_id))
    picker.fill("2026-12-01")
    page.click(".picker button")
    wait_until(lambda: any("2026" in str(call) for call in line.messages_to(user_id)[sent_before:]), timeout=20)
    page.wait_for_timeout(1500)
    heights = page.eval_on_selector_all("#chat .card", "cards => cards.map(c => c.getBoundingClientRect().height)")
    page.screenshot(path=str(ARTIFACTS / "simulator-date-picker-360.png"), full_page=True)
    assert len(heights) >= 8 and min(heights) > 30, heights


@pytest.mark.browser
def test_dev_server_log_leaves_out_polling(caplog):
    import logging

    from flask import Flask

    from bot.devtools.dev import _serve
    app = Flask("quiet")
    app.add_url_rule("/simulator/api/messages", "poll", lambda: "[]")
    app.add_url_rule("/callback", "callback", lambda: "ok", methods=["POST"])
    server = _serve(app, 0)
    base = f"http://127.0.0.1:{server.server_port}"
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for _ in range(3):
            urllib.request.urlopen(base + "/simulator/api/messages?since=0", timeout=5).read()
        urllib.request.urlopen(urllib.request.Request(base + "/callback", data=b"{}", method="POST"), timeout=5).read()
    server.shutdown()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert not any("/simulator/api/messages" in line for line in lines)
    assert any("/callback" in line for line in lines)
