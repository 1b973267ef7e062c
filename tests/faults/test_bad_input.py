"""Bad input gets a clear error and loses nothing: odd characters, absurd nesting, NUL bytes on
PostgreSQL, and case transfers to advisors that do not exist or are deactivated."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.store.models import Advisor, Case, Message, ProcessedEvent
from tests.conftest import make_settings
from tests.support.databases import drop_database, scratch_database_url
from tests.support.inbox import csrf, login, open_case
from tests.support.line_events import postback_event, signed_headers, text_event


def _post_raw(bot, body: bytes):
    return bot.client.post("/callback", data=body, headers=signed_headers(body, bot.secret))


def test_a_lone_surrogate_in_one_event_does_not_cost_the_other_users_event(bot, services, fake_line):
    bad, good = text_event("Usurrogate", "PLACEHOLDER"), text_event("Uneighbour", "hello")
    bad["timestamp"] = good["timestamp"] = 1
    body = json.dumps({"destination": "U", "events": [bad, good]}).replace("PLACEHOLDER", "a\\udc80b").encode()
    assert _post_raw(bot, body).status_code == 200
    bot.work()
    assert len(fake_line.messages_to("Uneighbour")) == 1
    assert len(fake_line.messages_to("Usurrogate")) == 1              # answered too, with U+FFFD in place
    with services.sessions() as session:
        assert session.scalar(select(ProcessedEvent).where(ProcessedEvent.partition == "Usurrogate")) is not None


def test_json_nested_ten_thousand_deep_is_a_400(bot):
    body = b'{"events": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    assert _post_raw(bot, body).status_code == 400
    deep_event = b'{"events": [{"type": "message", "x": ' + b"[" * 500 + b"]" * 500 + b"}]}"
    assert _post_raw(bot, deep_event).status_code == 200                # ignored, not a crash


@pytest.fixture
def postgres_url(postgres_database):
    from bot.store.database import upgrade_database
    test_url = scratch_database_url("nul")
    upgrade_database(test_url)
    yield test_url
    drop_database(test_url)


@pytest.mark.postgres
def test_nul_characters_in_text_and_postback_are_stored_safely_on_postgresql(
        tmp_path, postgres_url, redis_server, redis_client, fake_line, shared_content):
    from bot.app import create_app
    from bot.services import build_services
    from tests.support.bot_driver import BotDriver
    from tests.support.generated import consenting_users
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, postgres_url)
    services = build_services(settings, redis_client, content=shared_content)
    bot = BotDriver(create_app(services=services).test_client(), services, fake_line, "test-channel-secret")
    consenting_users(services.sessions, ["Unul"])
    events = [text_event("Unul", "hello\u0000 there"), postback_event("Unul", "menu\u0000")]
    for event in events:
        event["timestamp"] = 1
    assert bot.post(*events).status_code == 200
    bot.work()
    assert services.dead_letters.list() == []
    assert len(fake_line.messages_to("Unul")) == 2
    with services.sessions() as session:
        texts = session.scalars(select(Message.text).where(Message.direction == "in")).all()
    assert "hello there" in texts and not any("\x00" in (t or "") for t in texts)
    services.engine.dispose()


def _transfer(client, case_id: int, to_advisor: str):
    page = client.get(f"/inbox/cases/{case_id}")
    return client.post(f"/inbox/cases/{case_id}/action",
                       data={"action": "transfer", "to_advisor": to_advisor, "csrf_token": csrf(page.data)})


def test_transfer_to_a_non_numeric_unknown_or_inactive_advisor_is_refused(bot, services, client, advisor):
    open_case(bot)
    login(client)
    with services.sessions.begin() as session:
        case_id = session.scalar(select(Case.id))
        retired = session.scalar(select(Advisor).where(Advisor.email == "admin@npo.example"))
        retired.active = False
        retired_id = retired.id
    assert _transfer(client, case_id, "abc").status_code == 400
    assert _transfer(client, case_id, "99999").status_code == 404
    response = _transfer(client, case_id, str(retired_id))
    assert response.status_code == 302
    assert "deactivated" in client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    with services.sessions() as session:
        assert session.get(Case, case_id).assigned_advisor_id != retired_id
