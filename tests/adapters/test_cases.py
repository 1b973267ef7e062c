"""Handoff: cases opened once, business hours at the edges, atomic claims, notifications, escalation."""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from bot.adapters.notify import SmtpNotifier, WebhookNotifier
from bot.cases import queue as case_queue
from bot.cases.desk import CaseDesk
from bot.cases.hours import load_desk_hours
from bot.cases.notices import escalate_if_unclaimed, notify_case
from bot.store.models import Advisor, Case, User
from tests.support.fake_servers import FakeSmtpServer, FakeWebhookServer

REPO = Path(__file__).resolve().parents[2]
JST = timezone(timedelta(hours=9))
HOURS = load_desk_hours(REPO / "flows" / "desk" / "hours.yaml")


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 11, 24, 8, 59, 59, tzinfo=JST), False),   # Tuesday, a minute before opening
    (datetime(2026, 11, 24, 9, 0, tzinfo=JST), True),
    (datetime(2026, 11, 24, 16, 59, 59, tzinfo=JST), True),
    (datetime(2026, 11, 24, 17, 0, tzinfo=JST), False),       # closing time is closed
    (datetime(2026, 11, 23, 10, 0, tzinfo=JST), False),       # Labour Thanksgiving Day
    (datetime(2026, 11, 28, 12, 59, tzinfo=JST), True),       # Saturday morning
    (datetime(2026, 11, 28, 13, 0, tzinfo=JST), False),
    (datetime(2026, 11, 29, 11, 0, tzinfo=JST), False),       # Sunday
    (datetime(2026, 11, 24, 0, 30, tzinfo=UTC), True),  # 09:30 in Tokyo, given in UTC
])
def test_business_hours_edges(moment, expected):
    assert HOURS.is_open(moment) is expected


def test_next_opening_skips_weekend_and_holidays():
    assert HOURS.next_opening(datetime(2026, 11, 28, 13, 0, tzinfo=JST)) == datetime(2026, 11, 30, 9, 0, tzinfo=HOURS.zone)
    assert HOURS.next_opening(datetime(2026, 12, 28, 18, 0, tzinfo=JST)) == datetime(2027, 1, 4, 9, 0, tzinfo=HOURS.zone)


def test_broken_hours_file_names_the_line(tmp_path):
    broken = tmp_path / "hours.yaml"
    broken.write_text("weekly:\n  mon: ['9-17h']\nclosed: [2026-13-01]\n")
    with pytest.raises(Exception) as error:
        load_desk_hours(broken)
    assert f"{broken}:2" in str(error.value) and "09:00-17:00" in str(error.value)


def _add_case(sessions, priority="urgent") -> int:
    with sessions.begin() as session:
        user = User(line_user_id=f"U{os.urandom(4).hex()}", locale="vi", locale_chosen=True, blocked=False)
        session.add(user)
        session.flush()
        case = Case(user_id=user.id, locale="vi", topic="medical", priority=priority, priority_rank=0,
                    status="waiting", user_engaged=True)
        session.add(case)
        advisors = [Advisor(email=f"a{i}-{os.urandom(3).hex()}@npo.example", display_name=f"A{i}",
                            password_hash="x", role="advisor") for i in range(8)]
        session.add_all(advisors)
        session.flush()
        return case.id, [a.id for a in advisors]


def _concurrent_claims(sessions) -> list[bool]:
    case_id, advisor_ids = _add_case(sessions)
    barrier = threading.Barrier(len(advisor_ids))
    results: list[bool] = []

    def attempt(advisor_id):
        barrier.wait()
        with sessions.begin() as session:
            results.append(case_queue.claim(session, case_id, advisor_id, datetime.now(UTC)))

    threads = [threading.Thread(target=attempt, args=(a,)) for a in advisor_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_claims_sqlite_exactly_one_wins(services):
    results = _concurrent_claims(services.sessions)
    assert sorted(results) == [False] * 7 + [True]


@pytest.mark.postgres
def test_concurrent_claims_postgres_exactly_one_wins(postgres_sessions):
    results = _concurrent_claims(postgres_sessions)
    assert sorted(results) == [False] * 7 + [True]


def test_queue_orders_by_priority_then_age(services):
    now = datetime.now(UTC)
    with services.sessions.begin() as session:
        user = User(line_user_id="Uq", locale="vi", locale_chosen=True, blocked=False)
        session.add(user)
        session.flush()
        for minutes, priority, rank in ((50, "normal", 2), (10, "urgent", 0), (40, "high", 1), (30, "urgent", 0)):
            session.add(Case(user_id=user.id, locale="vi", topic="visa", priority=priority, priority_rank=rank,
                             status="waiting", created_at=now - timedelta(minutes=minutes)))
    with services.sessions() as session:
        ordered = [(c.priority, round((now - c.created_at.replace(tzinfo=UTC)).total_seconds() / 60))
                   for c in case_queue.queue(session)]
    assert ordered == [("urgent", 30), ("urgent", 10), ("high", 40), ("normal", 50)]


@pytest.fixture
def desk_open(monkeypatch):
    monkeypatch.setattr(type(HOURS), "is_open", lambda self, moment: True)


def test_person_request_opens_one_case_and_messages_then_go_to_it(bot, services, fake_line, desk_open):
    bot.follow("Ucase", language="en")
    first = bot.say("Ucase", "talk to a person")
    assert any("our team" in t for t in first)
    bot.say("Ucase", "talk to a person")            # asking again does not open a second case
    quiet = bot.say("Ucase", "My baby's visa expires next week, what do I do?")
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        case = session.scalar(select(Case))
    assert case.status == "waiting" and case.priority == "normal"
    assert all("did not find" not in t for t in quiet), "while a case is open the bot must not answer"


def test_out_of_hours_notices_are_paced_and_carry_emergency_numbers(bot, services, fake_line, monkeypatch):
    monkeypatch.setattr(type(HOURS), "is_open", lambda self, moment: False)
    bot.follow("Unight", language="en")
    opened, first, second = bot.say("Unight", "talk to a person"), bot.say("Unight", "hello?"), bot.say("Unight", "anyone?")
    assert any("closed now" in t and "119" in t and "110" in t for t in opened)
    assert len(first) == 1 and "Our team has your message" in first[0] and "closed now" in first[0]
    assert second == []                  # one acknowledgement per 10 minutes, not one per message


def test_menu_leaves_the_case_and_end_closes_it(bot, services, desk_open):
    bot.follow("Uleave", language="en")
    bot.say("Uleave", "talk to a person")
    left = bot.say("Uleave", "menu")
    assert any("stays open" in t for t in left)
    buttons = [i["action"]["data"] for i in bot.last_messages("Uleave")[-1]["quickReply"]["items"]]
    assert buttons == ["case:close", "cmd:menu"]          # not hidden behind a menu sent after it
    bot.tap("Uleave", "case:close")
    with services.sessions() as session:
        case = session.scalar(select(Case))
    assert case.status == "resolved" and case.user_engaged is False


def test_worker_dying_while_the_case_is_created_leaves_exactly_one_case(bot, services, monkeypatch, desk_open):
    bot.follow("Ucrash", language="en")
    original = CaseDesk._tell_user_about_wait
    calls = {"n": 0}

    def dies_once(self, ctx, case):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("worker killed")      # BaseException: nothing catches it, like a kill
        return original(self, ctx, case)

    monkeypatch.setattr(CaseDesk, "_tell_user_about_wait", dies_once)
    from tests.support.line_events import text_event
    assert bot.post(text_event("Ucrash", "talk to a person")).status_code == 200
    with pytest.raises(KeyboardInterrupt):
        bot.services.event_processor().drain("Ucrash")
    bot.work()
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    assert any("our team" in t for t in bot.line.texts_to("Ucrash"))


def test_notifications_reach_email_and_webhook_without_message_text(services):
    smtp, hook = FakeSmtpServer(), FakeWebhookServer()
    services.notifiers = [SmtpNotifier("127.0.0.1", smtp.port, "bot@npo.example", ["desk@npo.example"]),
                          WebhookNotifier(hook.url)]
    case_id, _ = _add_case(services.sessions)
    assert notify_case(services, case_id, "new", datetime.now(UTC)) == 2
    assert f"case #{case_id}" in smtp.messages[0] and "URGENT" in smtp.messages[0]
    assert hook.received[0]["case_id"] == case_id and "/inbox/cases/" in hook.received[0]["link"]
    smtp.shutdown()
    hook.shutdown()


def test_webhook_failure_raises_so_the_job_is_retried(services):
    hook = FakeWebhookServer()
    hook.statuses = [500]
    services.notifiers = [WebhookNotifier(hook.url)]
    case_id, _ = _add_case(services.sessions)
    with pytest.raises(Exception, match="webhook"):
        notify_case(services, case_id, "new", datetime.now(UTC))
    hook.shutdown()


def test_urgent_unclaimed_case_escalates_every_interval_until_claimed(services):
    hook = FakeWebhookServer()
    services.notifiers = [WebhookNotifier(hook.url)]
    case_id, advisor_ids = _add_case(services.sessions)
    assert escalate_if_unclaimed(services, case_id, datetime.now(UTC)) is True
    scheduled = ScheduledJobRegistry(queue=Queue("bot-tasks", connection=services.redis))
    job_ids = scheduled.get_job_ids()
    assert len(job_ids) == 1
    run_at = scheduled.get_scheduled_time(job_ids[0])
    delay = (run_at - datetime.now(UTC)).total_seconds()
    assert 4 * 60 < delay <= 5 * 60
    assert hook.received[0]["kind"] == "escalated"
    with services.sessions.begin() as session:
        case_queue.claim(session, case_id, advisor_ids[0], datetime.now(UTC))
    assert escalate_if_unclaimed(services, case_id, datetime.now(UTC)) is False
    assert len(hook.received) == 1
    hook.shutdown()
