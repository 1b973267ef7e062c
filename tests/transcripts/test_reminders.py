"""Reminders by the child's age (issue 16): schedule, opt-in in the flows, "my reminders", stop,
the daily sweep through the real fake LINE server, quota, night, erasure and export."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.reminders.schedule import load_schedule
from bot.settings import PROJECT_ROOT
from bot.store.models import User
from bot.store.reminders import ReminderSent, ReminderSubscription
from tests.support.sim_clock import SimClock


@pytest.fixture
def schedule():
    return load_schedule(PROJECT_ROOT / "flows")


@pytest.fixture
def clock(services):
    sim = SimClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    services.clock = sim
    return sim


def test_schedule_moves_a_deadline_past_closed_days_and_reminds_before_the_original_day(schedule):
    registration = next(r for r in schedule.reminders if r.id == "birth_registration")
    # Born 2026-12-20: day 13 is 2027-01-02, inside the New Year closure (29 Dec - 3 Jan); the
    # city office's deadline moves to Monday 4 January (Local Autonomy Act art. 4-2(4)).
    occurrence = schedule.occurrence_for(registration, date(2026, 12, 20))
    assert occurrence.original == date(2027, 1, 2) and occurrence.day == date(2027, 1, 4)
    assert occurrence.send_day == date(2026, 12, 29)            # 4 days before the original last day
    allowance = next(r for r in schedule.reminders if r.id == "child_allowance")
    not_moved = schedule.occurrence_for(allowance, date(2026, 12, 19))     # day 15: Sunday 3 January
    assert not_moved.day == date(2027, 1, 3)                    # the 15 days decide payment: not extended


def test_every_item_names_an_official_source_and_vaccines_start_at_two_months(schedule):
    official = ("https://www.mhlw.go.jp/", "https://www.cfa.go.jp/", "https://www.moj.go.jp/isa/")
    assert all(r.source_url.startswith(official) for r in schedule.reminders)
    first = min((r for r in schedule.reminders if r.entry == "routine-vaccinations"), key=lambda r: r.after.months)
    assert (first.after.months, first.after.days) == (2, 0)
    births = schedule.for_dates(date(2026, 11, 10), date(2026, 11, 20))
    assert {o.reminder.basis for o in births} == {"birth"}      # a born baby gets no pregnancy items


def _opt_in_after_birth_checklist(bot, user_id: str, birth: str) -> list[str]:
    bot.follow(user_id, language="vi")
    bot.tap(user_id, "menu:birth")
    bot.say(user_id, birth)
    return bot.tap(user_id, "f:birth_checklist:offer_reminders:remind")


def test_yes_after_the_birth_checklist_keeps_the_date_and_lists_what_comes(bot, services, clock):
    texts = _opt_in_after_birth_checklist(bot, "Ubirth", "2026-11-18")
    assert any("Đã bật nhắc nhở" in t for t in texts)
    assert any("Các nhắc nhở sắp tới" in t and "khai sinh" in t for t in texts)
    with services.sessions() as session:
        subscription = session.scalar(select(ReminderSubscription))
        assert subscription.birth_date == date(2026, 11, 18) and subscription.stopped_at is None
        assert subscription.starts_on == date(2026, 11, 20)
    listed = bot.say("Ubirth", "xem nhắc nhở")
    assert "khai sinh" in listed[-1]
    assert "Đã dừng nhắc nhở" in bot.say("Ubirth", "dừng nhắc nhở")[-1]
    assert "không có nhắc nhở" in bot.tap("Ubirth", "rem:list")[-1]


def test_no_after_the_birth_checklist_keeps_nothing(bot, services, clock):
    bot.follow("Unothanks", language="en")
    bot.tap("Unothanks", "menu:birth")
    bot.say("Unothanks", "2026-11-18")
    bot.tap("Unothanks", "f:birth_checklist:offer_reminders:skip")
    with services.sessions() as session:
        assert session.scalar(select(ReminderSubscription)) is None


def test_pregnancy_flow_asks_the_due_date_only_after_yes(bot, services, clock):
    bot.follow("Upreg", language="ja-easy")
    bot.tap("Upreg", "menu:pregnancy")
    bot.tap("Upreg", "f:pregnancy:topics:checkups")
    bot.tap("Upreg", "f:pregnancy:offer_reminders:remind")
    assert "2027年4月1日" in bot.say("Upreg", "2027-04-01")[-1]          # the confirmation shows the date
    texts = bot.tap("Upreg", "f:pregnancy:confirm_reminders:remind")
    assert any("おしらせを はじめました" in t for t in texts)
    with services.sessions() as session:
        assert session.scalar(select(ReminderSubscription.due_date)) == date(2027, 4, 1)


def _subscribe(services, user_id: str, locale: str, birth: date | None = None, due: date | None = None,
               starts_on: date = date(2026, 1, 1), municipality: str | None = None) -> None:
    with services.sessions.begin() as session:
        user = User(line_user_id=user_id, locale=locale, locale_chosen=True, blocked=False, consent=True,
                    municipality=municipality)
        session.add(user)
        session.flush()
        session.add(ReminderSubscription(user_id=user.id, birth_date=birth, due_date=due, starts_on=starts_on,
                                         consented_at=datetime(2026, 1, 1, tzinfo=UTC)))


def test_sweep_sends_at_ten_never_at_night_and_never_twice(services, fake_line, clock):
    _subscribe(services, "Usweep", "vi", birth=date(2026, 11, 10))       # registration: day 13 = 23 Nov (holiday)
    sweep = services.reminder_sweep()
    assert sweep.run(clock.at(date(2026, 11, 19), 22, 0)).skipped_quiet_hours
    assert sweep.run(clock.at(date(2026, 11, 19), 7, 30)).skipped_quiet_hours
    assert fake_line.messages_to("Usweep") == []
    report = sweep.run(clock.at(date(2026, 11, 19)))                     # 4 days before 23 Nov
    assert report.pushed == 1
    again = sweep.run(clock.at(date(2026, 11, 19), 15, 0))
    assert again.pushed == 0 and again.already_sent >= 1
    pushes = fake_line.messages_to("Usweep")
    assert len(pushes) == 1 and pushes[0]["endpoint"] == "push" and pushes[0]["retryKey"]
    message = pushes[0]["messages"][0]
    assert "khai sinh" in message["text"]
    assert [item["action"]["data"] for item in message["quickReply"]["items"]] == [
        "res:birth-registration", "rem:list", "rem:stop"]


def test_catch_up_after_downtime_is_bounded(services, fake_line, clock):
    _subscribe(services, "Ulate", "en", birth=date(2026, 9, 1))
    sweep = services.reminder_sweep()
    # The 2-month vaccination reminder was due 22 Oct (10 days before 1 Nov); the bot was down.
    assert sweep.run(clock.at(date(2026, 10, 24))).pushed >= 1           # 2 days late: sent
    texts = [m["messages"][0]["text"] for m in fake_line.messages_to("Ulate")]
    assert any("first vaccinations" in t for t in texts)
    _subscribe(services, "Utoolate", "en", birth=date(2026, 9, 1))
    assert not any("first vaccinations" in m["messages"][0]["text"]
                   for m in fake_line.messages_to("Utoolate"))
    sweep.run(clock.at(date(2026, 10, 28)))                              # 6 days late: skipped
    assert not any("first vaccinations" in m["messages"][0]["text"] for m in fake_line.messages_to("Utoolate"))


def test_sweep_stops_cleanly_at_the_monthly_quota(services, fake_line, clock):
    for index in range(3):
        _subscribe(services, f"Uquota{index}", "en", birth=date(2026, 11, 10))
    fake_line.set_quota(limit=10, used=8)
    report = services.reminder_sweep().run(clock.at(date(2026, 11, 19)))
    assert report.pushed == 2 and report.stopped_at_quota
    with services.sessions() as session:
        assert session.scalar(select(ReminderSent.id).where(ReminderSent.user_id == 3)) is None
    fake_line.set_quota(limit=20, used=10)
    services.redis.delete("line:quota:last")
    next_day = services.reminder_sweep().run(clock.at(date(2026, 11, 20)))        # within the catch-up days
    assert "reminder:3:birth_registration:birth:2026-11-10" in next_day.sent_ids


def test_monthly_limit_refusal_is_not_retried_and_not_logged_as_sent(services, fake_line, clock):
    _subscribe(services, "Urefused", "en", birth=date(2026, 11, 10))
    fake_line.set_quota(limit=5, used=5)
    services.quota.status = lambda: None                    # the hourly reading is missing: LINE decides
    report = services.reminder_sweep().run(clock.at(date(2026, 11, 19)))
    assert report.stopped_at_quota and report.pushed == 0
    with services.sessions() as session:
        assert session.scalar(select(ReminderSent)) is None


def test_line_outage_leaves_it_pending_and_only_daytime_sweeps_push_it(services, fake_line, clock):
    from bot.pipeline.sweep import Sweeper
    _subscribe(services, "Uoutage", "en", birth=date(2026, 11, 10))
    fake_line.outage(600)
    report = services.reminder_sweep().run(clock.at(date(2026, 11, 19)))
    assert report.line_unavailable
    fake_line.state.outage = None
    Sweeper(services).sweep_once()                         # the 20-second sweep leaves reminders alone
    assert fake_line.messages_to("Uoutage") == []
    assert services.reminder_sweep().run(clock.at(date(2026, 11, 19), 23, 0)).skipped_quiet_hours
    assert fake_line.messages_to("Uoutage") == []
    services.reminder_sweep().run(clock.at(date(2026, 11, 20)))     # yesterday's, then today's own
    texts = [m["messages"][0]["text"] for m in fake_line.messages_to("Uoutage")]
    assert len(texts) == 2 and "register your baby's birth" in texts[0] and "health insurance" in texts[1]


def test_unfollow_stops_and_erasure_removes_reminders_export_shows_them(bot, services, fake_line, clock):
    from bot.store.erase import erase_user, export_user
    from tests.support.line_events import base_event
    _opt_in_after_birth_checklist(bot, "Ugone", "2026-11-18")
    with services.sessions() as session:
        exported = export_user(session, "Ugone")
    assert exported["reminders"]["birth_date"] == "2026-11-18" and exported["reminders"]["stopped_at"] is None
    bot.send(base_event("unfollow", "Ugone"))
    with services.sessions() as session:
        assert session.scalar(select(ReminderSubscription.stop_reason)) == "unfollow"
    with services.sessions.begin() as session:
        erase_user(session, "Ugone")
    with services.sessions() as session:
        assert session.scalar(select(ReminderSubscription)) is None
        assert session.scalar(select(ReminderSent)) is None


def test_a_reminder_reads_well_in_vi_my_and_ja_easy(services, schedule):
    from bot.reminders.messages import reminder_text
    catalog = services.content.current().catalog
    vaccines = next(r for r in schedule.reminders if r.id == "vaccines_2_months")
    occurrence = schedule.occurrence_for(vaccines, date(2026, 11, 10))
    for locale in ("vi", "my", "ja-easy"):
        text = reminder_text(catalog, locale, occurrence)
        print(f"\n[{locale}] {text}")
        assert "{{" not in text and "2027" in text and "10" in text
        assert text != reminder_text(catalog, "en", occurrence)


def test_simulator_runs_the_sweep_for_a_day_and_the_reminder_arrives(tmp_path, redis_server, fake_line, database_url,
                                                                      shared_content, redis_client):
    from bot.app import create_app
    from bot.services import build_services
    from tests.conftest import make_settings
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, dev_mode=True)
    services = build_services(settings, redis_client, content=shared_content)
    _subscribe(services, "Usim", "my", birth=date(2026, 11, 10))
    client = create_app(services=services).test_client()
    answer = client.post("/simulator/api/reminders", json={"day": "2026-11-19"}).get_json()
    assert answer == {"day": "2026-11-19", "pushed": 1, "written": 1}
    shown = client.get("/simulator/api/messages?userId=Usim&since=0").get_json()
    assert [item["action"]["data"] for item in shown[0]["messages"][0]["quickReply"]["items"]][-1] == "rem:stop"
    services.engine.dispose()


def test_daily_job_runs_at_ten_and_is_scheduled_once_under_dated_ids(services, clock):
    from rq.registry import ScheduledJobRegistry

    from bot.adapters.tasks import TASK_QUEUE
    from bot.reminders.jobs import ensure_reminder_sweeps, next_run
    send_at = services.reminder_sweep().send_at
    clock.at(date(2026, 11, 20), 9, 0)
    assert clock.local(next_run(clock, send_at, retry_soon=False)).strftime("%m-%d %H:%M") == "11-20 10:00"
    clock.at(date(2026, 11, 20), 10, 0)
    assert clock.local(next_run(clock, send_at, retry_soon=False)).strftime("%m-%d %H:%M") == "11-21 10:00"
    clock.at(date(2026, 11, 20), 13, 0)
    assert clock.local(next_run(clock, send_at, retry_soon=True)).strftime("%m-%d %H:%M") == "11-20 13:15"
    clock.at(date(2026, 11, 20), 20, 50)
    assert clock.local(next_run(clock, send_at, retry_soon=True)).strftime("%m-%d %H:%M") == "11-21 10:00"
    ensure_reminder_sweeps(services)
    ensure_reminder_sweeps(services)                      # a second worker, or a restart: nothing new
    ids = sorted(ScheduledJobRegistry(TASK_QUEUE, connection=services.redis).get_job_ids())
    assert ids == ["reminders-daily-2026-11-21-1000", "reminders-daily-catch-up-2026-11-20"]


def test_typed_reminder_words_are_not_taken_for_an_emergency_in_any_language(shared_content):
    """Safety triage runs before commands: a command word the rules or the classifier read as
    danger would answer "call 119" instead of listing or stopping reminders."""
    from bot.content.langdetect import clear_language_of
    from bot.dialogue.classifier import load_classifier
    from bot.dialogue.routing import assess_message
    content = shared_content.current()
    classifier = load_classifier(PROJECT_ROOT / "training" / "classifier.bin")
    alarmed = [(locale, word) for locale, texts in content.catalog.texts.items()
               for key in ("reminders.words", "reminders.stop_words") for word in texts[key]
               if assess_message(word, content.triage_rules, classifier, None, clear_language_of).level != "none"]
    assert alarmed == []
