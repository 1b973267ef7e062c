"""Translation for the inbox never runs inside a web request (issue 13, item 8).

The real google-cloud-translate client talks to the fake Translation endpoint, which can be
told to hang until released. The case page, `/callback` and other inbox writes must answer
while the translator hangs (counted with an Event, not timed); the worker's job fills the
translation in afterwards and the page's poll picks it up.
"""
from __future__ import annotations

import threading

import pytest
from rq import Queue
from sqlalchemy import select

from bot.adapters.tasks import TASK_QUEUE
from bot.devtools.fake_translate import FakeTranslateServer
from bot.store.models import Case, CaseNote, Message
from tests.conftest import make_settings
from tests.support.inbox import csrf, login, open_case
from tests.support.line_events import text_event

TRANSLATION = "子どもが熱を出しています"          # the fake's Japanese for "Con tôi bị sốt"


@pytest.fixture
def fake_translate():
    server = FakeTranslateServer()
    yield server
    server.stop()


@pytest.fixture
def services(tmp_path, redis_server, redis_client, fake_line, database_url, shared_content, fake_translate):
    from bot.services import build_services
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, translate_backend="google",
                             google_project="demo", translate_api_endpoint=fake_translate.url,
                             translate_timeout_s=2.0, translate_preview_timeout_s=0.5)
    services = build_services(settings, redis_client, content=shared_content)
    yield services
    services.engine.dispose()


def case_id_and_message(services) -> tuple[int, int]:
    with services.sessions() as session:
        message_id = session.scalar(select(Message.id).where(Message.direction == "in", Message.text == "Con tôi bị sốt"))
        return session.scalar(select(Case.id)), message_id


def translation_jobs(services) -> int:
    """Translation jobs waiting (a worker also queues its own housekeeping, e.g. the announcement watch)."""
    return sum("translat" in job.func_name for job in Queue(TASK_QUEUE, connection=services.redis).jobs)


def test_case_page_callback_and_writes_answer_while_the_translator_hangs(bot, client, advisor, services, fake_translate):
    open_case(bot)
    case_id, message_id = case_id_and_message(services)
    login(client)
    fake_translate.state.hold()

    page = client.get(f"/inbox/cases/{case_id}")
    assert page.status_code == 200 and "翻訳中…" in page.get_data(as_text=True)
    assert not fake_translate.state.hang_started.is_set()          # the page itself called no translator
    assert translation_jobs(services) == 1                         # it asked the worker instead
    token = csrf(page.data)

    seen: dict = {}

    def while_the_job_hangs():
        """Runs while the worker (main thread) is stuck in the translator."""
        try:
            seen["hanging"] = fake_translate.state.hang_started.wait(20)
            seen["page"] = client.get(f"/inbox/cases/{case_id}")
            seen["poll"] = client.get(f"/inbox/api/cases/{case_id}/translations?ids={message_id}").get_json()
            seen["callback"] = bot.post(text_event("Uvi-mom", "Cảm ơn")).status_code
            seen["note"] = client.post(f"/inbox/cases/{case_id}/action",
                                       data={"action": "note", "note": "熱の様子を聞く", "csrf_token": token}).status_code
            seen["still_hanging"] = fake_translate.state.hanging
            seen["jobs_while_hanging"] = translation_jobs(services)
        finally:
            fake_translate.state.release()

    helper = threading.Thread(target=while_the_job_hangs)
    helper.start()
    bot.work()                   # takes the translation job; it hangs until the helper releases it
    helper.join(30)

    assert seen["hanging"] and seen["still_hanging"] == 1          # every answer below came during the hang
    assert seen["page"].status_code == 200 and "翻訳中…" in seen["page"].get_data(as_text=True)
    assert seen["poll"]["translations"][str(message_id)] == {"state": "pending"}
    assert seen["callback"] == 200
    assert seen["note"] == 302                                     # a write: no "database is locked"
    assert seen["jobs_while_hanging"] == 0                         # the second view did not ask again
    with services.sessions() as session:
        assert session.scalar(select(CaseNote.text)) == "熱の様子を聞く"
    poll = client.get(f"/inbox/api/cases/{case_id}/translations?ids={message_id}").get_json()
    assert poll["translations"][str(message_id)] == {"state": "done", "text": TRANSLATION}
    assert f"日本語訳: {TRANSLATION}" in client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)


def test_a_failed_translation_offers_a_retry_that_the_worker_carries_out(bot, client, advisor, services, fake_translate):
    open_case(bot)
    case_id, message_id = case_id_and_message(services)
    login(client)
    fake_translate.state.failures.append({"status": 503})
    token = csrf(client.get(f"/inbox/cases/{case_id}").data)
    bot.work()
    poll = client.get(f"/inbox/api/cases/{case_id}/translations?ids={message_id}").get_json()
    assert poll["translations"][str(message_id)] == {"state": "failed"}
    page = client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "翻訳を再試行" in page and translation_jobs(services) == 0      # a failure is not asked for again by itself
    retry = client.post(f"/inbox/cases/{case_id}/messages/{message_id}/translate", data={"csrf_token": token})
    assert retry.status_code == 302 and translation_jobs(services) == 1
    bot.work()
    assert f"日本語訳: {TRANSLATION}" in client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)


def test_one_failure_costs_the_job_one_call_not_one_per_message(bot, services, fake_translate):
    from bot.inbox.translations import translate_inbound
    open_case(bot)
    bot.say("Uvi-mom", "Bé không bú")
    with services.sessions() as session:
        ids = session.scalars(select(Message.id).where(Message.direction == "in", Message.kind == "text",
                                                       Message.translation.is_(None))).all()
    assert len(ids) >= 2
    calls_before = len(fake_translate.state.requests)
    fake_translate.state.failures.append({"status": 500})
    done = translate_inbound(services.sessions, services.translator, services.inbox_translations, list(ids), "vi")
    assert done == 0 and len(fake_translate.state.requests) - calls_before == 1
    assert set(services.inbox_translations.states(list(ids)).values()) == {"failed"}


def test_reply_preview_returns_with_a_way_forward_while_the_translator_hangs(bot, client, advisor, services, fake_translate):
    open_case(bot)
    case_id, _ = case_id_and_message(services)
    login(client)
    token = csrf(client.get(f"/inbox/cases/{case_id}").data)
    fake_translate.state.hold()
    try:
        preview = client.post(f"/inbox/cases/{case_id}/preview", data={"text": "明日来てください。", "csrf_token": token})
        still_hanging = fake_translate.state.hanging
    finally:
        fake_translate.state.release()
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and still_hanging == 1        # answered while the call still hung
    assert "翻訳サービスが今は使えません" in page and "もう一度翻訳する" in page and "このまま送信" in page
    assert 'name="final_text" id="final_text">明日来てください。</textarea>' in page    # send as is, or edit


def test_only_users_texts_in_other_languages_are_sent_for_translation():
    from bot.inbox.translations import needs_translation
    text = Message(direction="in", kind="text", text="Con tôi bị sốt", translation=None)
    assert needs_translation(text, "vi")
    assert not needs_translation(text, "ja") and not needs_translation(text, "ja-easy")
    assert not needs_translation(Message(direction="in", kind="text", text="x", translation="訳"), "vi")
    assert not needs_translation(Message(direction="out", kind="text", text="x", translation=None), "vi")
    assert not needs_translation(Message(direction="in", kind="text", text=None, translation=None), "vi")  # before consent
