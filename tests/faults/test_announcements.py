"""Announcements: the fake LINE's multicast, the segment, and sending to 10,000 parents exactly once
across a killed worker (a real `python -m bot worker` process, the real SDK, the fake LINE)."""
from __future__ import annotations

import json
import math
import random
import signal
import urllib.error
import urllib.request
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from bot import LOCALES
from bot.adapters.line_multicast import LineMulticaster
from bot.announce import drafts
from bot.announce.jobs import AnnouncementQueue
from bot.announce.segment import Audience, Segment, SegmentError
from bot.announce.sending import delivery_report, retry_key_for
from bot.announce.wiring import announcement_sender
from bot.inbox.auth import create_advisor
from bot.store.announcements import Announcement, AnnouncementBatch
from bot.store.models import AuditEntry, User
from tests.conftest import ACCESS_TOKEN
from tests.support.processes import run_burst_worker, start_worker, wait_until


# ---- the fake LINE's multicast ------------------------------------------------------------------------
def _post_multicast(line, body: dict, retry_key: str | None = None, token: str = ACCESS_TOKEN) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    if retry_key:
        headers["X-Line-Retry-Key"] = retry_key
    request = urllib.request.Request(f"{line.url}/v2/bot/message/multicast", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


HELLO = [{"type": "text", "text": "hello"}]


def test_fake_refuses_more_than_500_recipients_or_5_messages_like_line(fake_line):
    status, body = _post_multicast(fake_line, {"to": [f"U{i:032x}" for i in range(501)], "messages": HELLO})
    assert status == 400 and body["details"][0]["property"] == "to"
    status, body = _post_multicast(fake_line, {"to": ["Ua"], "messages": HELLO * 6})
    assert status == 400 and body["details"][0]["property"] == "messages"
    assert _post_multicast(fake_line, {"to": [], "messages": HELLO})[0] == 400
    assert _post_multicast(fake_line, {"to": ["Ua"], "messages": [{"type": "text", "text": "x" * 5001}]})[0] == 400
    assert _post_multicast(fake_line, {"to": ["Ua"], "messages": HELLO}, token="")[0] == 401
    assert _post_multicast(fake_line, {"to": ["Ua"], "messages": HELLO}, retry_key="not-a-uuid")[0] == 400
    assert fake_line.state.multicasts == [] and fake_line.state.received == []
    status, _ = _post_multicast(fake_line, {"to": [f"U{i:032x}" for i in range(500)], "messages": HELLO * 5})
    assert status == 200 and len(fake_line.state.multicasts) == 1


def test_fake_answers_409_to_a_repeated_retry_key_and_delivers_once(fake_line):
    key = str(uuid.uuid4())
    line = LineMulticaster(fake_line.url, ACCESS_TOKEN, 5)
    assert line.multicast(["Ua", "Ub"], HELLO, key).status == "sent"
    again = line.multicast(["Ua", "Ub"], HELLO, key)
    assert again.status == "duplicate" and again.http_status == 409 and again.delivered
    assert fake_line.texts_to("Ua") == ["hello"] and fake_line.texts_to("Ub") == ["hello"]
    assert [c["status"] for c in fake_line.state.calls if c["endpoint"] == "multicast"] == [200, 409]


def test_fake_counts_the_quota_per_recipient_and_refuses_a_call_that_does_not_fit(fake_line):
    fake_line.set_quota(10, used=0)
    line = LineMulticaster(fake_line.url, ACCESS_TOKEN, 5)
    assert line.multicast([f"U{i}" for i in range(6)], HELLO, str(uuid.uuid4())).status == "sent"
    assert fake_line.state.quota_used == 6
    refused = line.multicast([f"V{i}" for i in range(5)], HELLO, str(uuid.uuid4()))
    assert refused.status == "monthly_limit" and refused.http_status == 429
    assert fake_line.state.quota_used == 6 and fake_line.texts_to("V0") == []      # all or nothing, as LINE
    assert line.multicast([f"W{i}" for i in range(4)], HELLO, str(uuid.uuid4())).status == "sent"


# ---- who gets it --------------------------------------------------------------------------------------
def _user(line_user_id: str, locale: str | None, municipality: str | None = None, consent=True, blocked=False) -> User:
    return User(line_user_id=line_user_id, locale=locale, locale_chosen=locale is not None, municipality=municipality,
                consent=consent, blocked=blocked)


def test_segment_takes_consented_following_parents_by_language_and_municipality(services):
    with services.sessions.begin() as session:
        session.add_all([
            _user("Uvi1", "vi", "toshima-ku"), _user("Uvi2", "vi", "matsudo-shi"), _user("Uvi-blocked", "vi", blocked=True),
            _user("Uvi-no", "vi", consent=False), _user("Uvi-unasked", "vi", consent=None), _user("Une", "ne", "toshima-ku"),
            _user("Unone", None, "toshima-ku"),            # never chose: reads the default language (en)
        ])
    audience = Audience(default_locale="en", today=services.clock.today())
    with services.sessions() as session:
        assert audience.counts(session, Segment(("vi", "ne", "en"))) == {"vi": 2, "ne": 1, "en": 1}
        assert audience.counts(session, Segment(("vi", "ne", "en"), ("toshima-ku",))) == {"vi": 1, "ne": 1, "en": 1}
        assert sorted(audience.recipients(session, Segment(("vi",)), ("vi",))) == [("Uvi1", "vi"), ("Uvi2", "vi")]
        with pytest.raises(SegmentError):
            audience.counts(session, Segment(("vi",), age_bands=("pregnant",)))     # no dates kept yet: refuse
    pregnant = Audience("en", services.clock.today(),
                        age_band_filter=lambda query, bands, today: query.where(User.line_user_id == "Uvi2"))
    with services.sessions() as session:
        assert pregnant.counts(session, Segment(("vi",), age_bands=("pregnant",))) == {"vi": 1}


# ---- sending ------------------------------------------------------------------------------------------
def _admin(services) -> int:
    with services.sessions.begin() as session:
        return create_advisor(session, "admin@npo.example", "correct horse battery", "admin", "管理者").id


def _reviewed_announcement(services, locales, excluded=(), municipalities=()) -> int:
    """A notice with a reviewed text per language, scheduled for now (what the inbox leaves behind)."""
    admin_id = _admin(services)
    now = services.clock.now()
    with services.sessions.begin() as session:
        item = drafts.create_draft(session, admin_id, "健診のお知らせ", "来月、1歳6か月児健診があります。",
                                   Segment(tuple(locales), tuple(municipalities)))
        drafts.set_segment(session, item, admin_id, Segment(tuple(locales), tuple(municipalities)), list(excluded))
        for locale in drafts.translations(session, item.id):
            if locale not in excluded:
                drafts.edit_translation(session, item, locale, admin_id, f"[{locale}] checkup next month")
                drafts.mark_reviewed(session, item, locale, admin_id, now)
        drafts.schedule(session, item, admin_id, now, now)
        return item.id


def _generate_parents(services, count: int, seed: int = 16) -> dict[str, list[str]]:
    """`count` consenting parents spread over the 17 languages, plus some who must get nothing."""
    rng = random.Random(seed)
    by_locale: dict[str, list[str]] = {locale: [] for locale in LOCALES}
    rows = []
    for i in range(count):
        locale = LOCALES[i % len(LOCALES)] if i < 17 * 10 else rng.choice(LOCALES)
        line_user_id = f"U{i:032x}"
        by_locale[locale].append(line_user_id)
        rows.append({"line_user_id": line_user_id, "locale": locale, "locale_chosen": True, "consent": True,
                     "blocked": False, "municipality": rng.choice(["toshima-ku", "matsudo-shi"])})
    for i, (consent, blocked) in enumerate([(True, True), (False, False), (None, False)] * 20):
        rows.append({"line_user_id": f"X{i:032x}", "locale": rng.choice(LOCALES), "locale_chosen": True,
                     "consent": consent, "blocked": blocked, "municipality": "toshima-ku"})
    with services.sessions.begin() as session:
        session.execute(User.__table__.insert(), rows)
    return by_locale


def _accepted_by_locale(fake_line, announcement_id: int, by_locale: dict[str, list[str]]) -> dict[str, list[list[str]]]:
    keys = {retry_key_for(announcement_id, locale, n): locale for locale in by_locale for n in range(40)}
    accepted: dict[str, list[list[str]]] = {}
    for call in fake_line.state.multicasts:
        accepted.setdefault(keys[call["retryKey"]], []).append(call["to"])
    return accepted


@pytest.fixture
def postgres_url():
    """A fresh, migrated PostgreSQL database at TEST_DATABASE_URL's server (dropped afterwards)."""
    import os

    from sqlalchemy import create_engine, text

    from bot.store.database import upgrade_database
    url = os.environ["TEST_DATABASE_URL"]
    name = f"bot_test_{os.urandom(4).hex()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    test_url = url.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(test_url)
    yield test_url
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.mark.slow
def test_announcement_to_10000_parents_in_17_languages_goes_out_once_across_a_worker_kill(services, settings, fake_line):
    _send_to_10000_across_a_worker_kill(services, settings, fake_line)


@pytest.mark.slow
@pytest.mark.postgres
def test_the_same_on_postgresql(tmp_path, redis_server, redis_client, fake_line, shared_content, postgres_url):
    from bot.services import build_services
    from tests.conftest import make_settings
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, postgres_url)
    services = build_services(settings, redis_client, content=shared_content)
    try:
        _send_to_10000_across_a_worker_kill(services, settings, fake_line)
    finally:
        services.engine.dispose()


def _send_to_10000_across_a_worker_kill(services, settings, fake_line):
    by_locale = _generate_parents(services, 10_000)
    announcement_id = _reviewed_announcement(services, LOCALES)
    fake_line.state.multicast_stall = {"after": 7, "seconds": 30}      # the 8th call: accepted, answered late
    AnnouncementQueue(services.redis).send_now(announcement_id)

    worker = start_worker(settings)
    try:
        assert wait_until(lambda: len(fake_line.state.multicasts) >= 8, timeout=120), worker.stderr
        worker.send_signal(signal.SIGKILL)          # dies waiting for LINE's answer to a batch LINE has delivered
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    with services.sessions() as session:
        assert session.get(Announcement, announcement_id).status == "sending"
        stalled_key = fake_line.state.multicasts[7]["retryKey"]
        assert session.scalar(select(AnnouncementBatch.status).where(AnnouncementBatch.retry_key == stalled_key)) == "pending"

    run_burst_worker(settings)                       # a new worker resumes the send

    with services.sessions() as session:
        assert session.get(Announcement, announcement_id).status == "sent"
        report = delivery_report(session, announcement_id)
    accepted = _accepted_by_locale(fake_line, announcement_id, by_locale)
    for locale, users in by_locale.items():
        calls = accepted[locale]
        assert len(calls) == math.ceil(len(users) / 500), locale                   # ⌈n/500⌉ calls, none repeated
        assert sorted(uid for call in calls for uid in call) == sorted(users), locale
        assert report[locale].recipients_sent == len(users) and report[locale].batches_sent == len(calls)
        assert report[locale].recipients_failed == report[locale].recipients_waiting == 0
    received = Counter(m["to"] for m in fake_line.state.received if m["endpoint"] == "multicast")
    assert set(received.values()) == {1} and len(received) == 10_000               # each parent once, no one else
    statuses = Counter(c["status"] for c in fake_line.state.calls if c["endpoint"] == "multicast")
    assert statuses == {200: sum(map(len, accepted.values())), 409: 1}              # the resent batch: LINE said "already"
    vi_user = by_locale["vi"][0]
    assert fake_line.texts_to(vi_user) == [("📢 Thông báo từ bàn tư vấn\n\n[vi] checkup next month\n\n"
                                            "Nếu có thắc mắc, hãy nhắn cho chúng tôi tại đây.")]
    with services.sessions() as session:
        assert not any(session.scalars(select(AnnouncementBatch.recipients)))        # LINE ids forgotten once sent
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"announcement:{announcement_id}")).all()
    assert {"announce.create", "announce.review", "announce.schedule", "announce.start", "announce.sent"} <= set(actions)


def test_monthly_limit_stops_the_send_with_a_clear_status_and_resume_sends_the_rest(services, fake_line):
    with services.sessions.begin() as session:
        session.add_all([_user(f"Uen{i:03d}", "en") for i in range(3)] + [_user(f"Uvi{i:03d}", "vi") for i in range(4)])
    announcement_id = _reviewed_announcement(services, ["en", "vi"])
    fake_line.set_quota(5, used=0)

    assert announcement_sender(services).run(announcement_id) == "stopped"
    with services.sessions() as session:
        item = session.get(Announcement, announcement_id)
        assert (item.status, item.stop_reason) == ("stopped", "monthly_limit")
        report = delivery_report(session, announcement_id)
    assert (report["en"].recipients_sent, report["vi"].recipients_waiting) == (3, 4)
    assert sorted(m["to"] for m in fake_line.state.received) == ["Uen000", "Uen001", "Uen002"]

    fake_line.set_quota(100, used=3)                 # the plan was raised
    with services.sessions.begin() as session:
        drafts.resume(session, session.get(Announcement, announcement_id), None)
    assert announcement_sender(services).run(announcement_id) == "sent"
    assert len(fake_line.state.received) == 7 and len(fake_line.texts_to("Uvi003")) == 1


def test_a_parent_who_unfollows_after_planning_is_left_out_and_a_failing_batch_is_reported(services, fake_line):
    with services.sessions.begin() as session:
        session.add_all([_user("Uen-a", "en"), _user("Uen-b", "en"), _user("Uvi-a", "vi")])
    announcement_id = _reviewed_announcement(services, ["en", "vi"])
    sender = announcement_sender(services)
    sender._start(announcement_id)                          # planned with both en parents
    with services.sessions.begin() as session:
        session.scalar(select(User).where(User.line_user_id == "Uen-b")).blocked = True
    fake_line.fail_next({"endpoint": "multicast", "status": 400, "message": "Invalid user"})   # en's batch (sent first)
    assert sender.run(announcement_id) == "sent"
    with services.sessions() as session:
        report = delivery_report(session, announcement_id)
    assert (report["en"].recipients_failed, report["en"].batches_failed) == (1, 1)
    assert report["vi"].recipients_sent == 1 and fake_line.texts_to("Uen-b") == []


def test_a_scheduled_announcement_is_not_sent_before_its_time(services, fake_line):
    from datetime import timedelta
    with services.sessions.begin() as session:
        session.add(_user("Uen-a", "en"))
    announcement_id = _reviewed_announcement(services, ["en"])
    with services.sessions.begin() as session:
        session.get(Announcement, announcement_id).scheduled_at = services.clock.now() + timedelta(hours=2)
    assert announcement_sender(services).run(announcement_id) == "not_due"
    assert fake_line.state.multicasts == []


def test_unreviewed_languages_block_sending_until_reviewed_or_excluded(services):
    admin_id = _admin(services)
    now = services.clock.now()
    with services.sessions.begin() as session:
        item = drafts.create_draft(session, admin_id, "t", "本文", Segment(("ja", "ja-easy", "vi")))
        with pytest.raises(drafts.AnnouncementError, match="やさしい|ja-easy"):
            drafts.schedule(session, item, admin_id, now, now)
        drafts.set_segment(session, item, admin_id, Segment(("ja", "ja-easy", "vi")), ["ja-easy", "vi"])
        drafts.schedule(session, item, admin_id, now, now)          # ja alone: the original needs no review
        assert drafts.readiness(session, item).ready == ("ja",)


def test_line_errors_5xx_are_retried_with_the_same_key_and_an_outage_leaves_the_batch_for_later(services, fake_line):
    from bot.announce.sending import AnnouncementPendingError
    with services.sessions.begin() as session:
        session.add_all([_user("Uen-a", "en"), _user("Uvi-a", "vi")])
    announcement_id = _reviewed_announcement(services, ["en", "vi"])
    fake_line.fail_next({"endpoint": "multicast", "status": 500}, {"endpoint": "multicast", "status": 429})
    assert announcement_sender(services).run(announcement_id) == "sent"          # a rate limit is not the monthly one
    calls = [c for c in fake_line.state.calls if c["endpoint"] == "multicast"]
    assert [c["status"] for c in calls] == [500, 429, 200, 200] and len({c["retryKey"] for c in calls[:3]}) == 1
    assert fake_line.texts_to("Uen-a") and len(fake_line.texts_to("Uen-a")) == 1

    with services.sessions.begin() as session:
        session.add(_user("Uen-b", "en"))
    second = _reviewed_announcement_again(services, ["en"])
    fake_line.outage(60)
    with pytest.raises(AnnouncementPendingError):            # RQ retries the job later; nothing marked sent
        announcement_sender(services).run(second)
    with services.sessions() as session:
        assert delivery_report(session, second)["en"].recipients_waiting == 2
    fake_line.outage(0)
    assert announcement_sender(services).run(second) == "sent"
    assert len(fake_line.texts_to("Uen-b")) == 1


def _reviewed_announcement_again(services, locales) -> int:
    """A second notice by the same admin (the first helper creates the account)."""
    now = services.clock.now()
    with services.sessions.begin() as session:
        admin_id = session.scalar(select(AuditEntry.advisor_id).where(AuditEntry.advisor_id.is_not(None)))
        item = drafts.create_draft(session, admin_id, "2", "二つめ", Segment(tuple(locales)))
        for locale in drafts.translations(session, item.id):
            drafts.edit_translation(session, item, locale, admin_id, f"[{locale}] second")
            drafts.mark_reviewed(session, item, locale, admin_id, now)
        drafts.schedule(session, item, admin_id, now, now)
        return item.id


def test_one_sender_at_a_time_and_a_dead_workers_lease_is_taken_over(services, redis_client):
    import socket
    import subprocess
    import sys

    from bot.announce.jobs import resume_announcements
    from bot.announce.lease import SendLease, is_held
    with services.sessions.begin() as session:
        session.add(_user("Uen-a", "en"))
    announcement_id = _reviewed_announcement(services, ["en"])
    with services.sessions.begin() as session:
        session.get(Announcement, announcement_id).status = "sending"
    queue = AnnouncementQueue(services.redis)._queue

    first = SendLease(redis_client, announcement_id)
    assert first.acquire() and not SendLease(redis_client, announcement_id).acquire()     # a live sender: busy
    assert is_held(redis_client, announcement_id) and resume_announcements(services) == 0 and queue.count == 0
    first.release()
    assert resume_announcements(services) == 1 and queue.count == 1                      # nobody sending: resume

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    redis_client.set(f"announce:lease:{announcement_id}", f"{socket.gethostname()}:{dead.pid}:0000")
    assert not is_held(redis_client, announcement_id)
    assert SendLease(redis_client, announcement_id).acquire()                              # taken over at once


def test_deleting_her_data_takes_her_out_of_batches_still_waiting(services, fake_line):
    from bot.store.erase import erase_user
    with services.sessions.begin() as session:
        session.add_all([_user("Uen-a", "en"), _user("Uen-b", "en")])
    announcement_id = _reviewed_announcement(services, ["en"])
    fake_line.set_quota(0)                                    # the limit is spent: the batch waits
    assert announcement_sender(services).run(announcement_id) == "stopped"
    with services.sessions.begin() as session:
        erase_user(session, "Uen-b")
    with services.sessions() as session:
        batch = session.scalars(select(AnnouncementBatch)).one()
        assert (batch.recipients, batch.recipient_count) == (["Uen-a"], 1)


def test_age_bands_come_from_the_dates_kept_for_reminders(services):
    """Pregnant or the child's age, for parents whose reminders are on (the dates were given for them)."""
    from datetime import UTC, date, datetime

    from bot.reminders.age_bands import age_band_filter
    from bot.store.reminders import ReminderSubscription
    today = date(2026, 12, 6)
    people = {"Upreg": (None, date(2027, 3, 1), None), "Ubaby": (date(2026, 6, 1), None, None),
              "Utoddler": (date(2024, 12, 1), None, None), "Uschool": (date(2021, 1, 1), None, None),
              "Ustopped": (date(2026, 6, 1), None, datetime(2026, 7, 1, tzinfo=UTC)),
              "Unodates": None}
    with services.sessions.begin() as session:
        users = {uid: _user(uid, "vi") for uid in people}
        session.add_all(users.values())
        session.flush()
        for uid, dates in people.items():
            if dates is not None:
                birth, due, stopped = dates
                session.add(ReminderSubscription(user_id=users[uid].id, birth_date=birth, due_date=due,
                                                 starts_on=today, stopped_at=stopped))
    audience = Audience("en", today, age_band_filter=age_band_filter)

    def who(*bands: str) -> list[str]:
        with services.sessions() as session:
            return sorted(uid for uid, _ in audience.recipients(session, Segment(("vi",), age_bands=bands), ("vi",)))
    assert who("pregnant") == ["Upreg"]
    assert who("0-1") == ["Ubaby"]
    assert who("1-3") == ["Utoddler"]
    assert who("pregnant", "0-1") == ["Ubaby", "Upreg"]
    assert who("3-6") == ["Uschool"]                 # 5 years 11 months
    assert "Ustopped" not in who("0-1", "1-3", "3-6") and "Unodates" not in who("pregnant", "0-1")
