"""100 parents over 450 days (issue 16): every reminder her schedule says, at 10:00 Japan time,
none at night, none after "stop", an unfollow or "delete my data", and none twice, also across a
worker killed mid-sweep and a Redis restart. The real sweep, the real fake LINE server, real
worker processes and a real redis-server with AOF; the days pass on a simulated clock."""
from __future__ import annotations

import functools
import random
import signal
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from bot import LOCALES
from bot.adapters.tasks import TASK_QUEUE
from bot.reminders.jobs import REMINDER_JOB
from bot.reminders.schedule import load_schedule
from bot.settings import PROJECT_ROOT
from bot.store.models import Message, User
from bot.store.reminders import ReminderSent, ReminderSubscription
from bot.store.users import RETRY_KEY_NAMESPACE
from tests.conftest import CHANNEL_SECRET, make_settings
from tests.support.bot_driver import BotDriver
from tests.support.line_events import base_event, postback_event
from tests.support.processes import start_worker, wait_until
from tests.support.redis_server import RedisServer
from tests.support.sim_clock import SimClock

START = date(2027, 1, 4)
DAYS = 450
CATCH_UP = 3
CRASH_DAY = START + timedelta(days=120)


class Parent:
    def __init__(self, index: int, rng: random.Random):
        self.line_id = f"Uyear{index:03d}"
        self.locale = LOCALES[index % len(LOCALES)]
        self.municipality = rng.choice(["toshima-ku", "matsudo-shi", None])
        self.user_id: int | None = None
        self.joins = START + timedelta(days=rng.randint(0, 150))
        self.birth: date | None = None
        self.due: date | None = None
        self.born_told: date | None = None        # the day she gives the birth date after a due date
        self.leaves: date | None = None           # stop / unfollow / deletion, at noon that day
        self.how_leaves: str | None = None
        if index < 55:
            self.birth = self.joins - timedelta(days=rng.randint(0, 50))
        elif index < 85:
            self.due = self.joins + timedelta(days=rng.randint(20, 270))
            if index < 65:
                self.born_told = self.due + timedelta(days=rng.randint(-10, 12))
        else:
            self.joins = START
            self.birth = START - timedelta(days=rng.randint(300, 700))

    def state_on(self, day: date):
        """(birth, due, starts_on) at 10:00 on `day`, or None when she has no reminders then."""
        if day <= self.joins or (self.leaves is not None and day > self.leaves):
            return None
        if self.born_told is not None and day > self.born_told:
            return self.born_told, None, self.born_told
        return self.birth, self.due, self.joins


def expected_keys(parent: Parent, schedule, sweep_days: list[date]) -> set[str]:
    """The retry keys of every reminder her schedule says she gets, by the schedule's rules."""
    found = set()
    for day in sweep_days:
        state = parent.state_on(day)
        if state is None:
            continue
        birth, due, starts_on = state
        for occurrence in schedule.for_dates(birth, due, parent.municipality):
            last = min(occurrence.send_day + timedelta(days=CATCH_UP), occurrence.last_send_day)
            if occurrence.send_day <= day <= last and occurrence.send_day >= starts_on:
                key = f"reminder:{parent.user_id}:{occurrence.reminder.id}:{occurrence.key}"
                found.add(str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{key}:0")))
    return found


def is_reminder(push: dict) -> bool:
    items = push["messages"][0].get("quickReply", {}).get("items", [])
    return any(item["action"].get("data") == "rem:stop" for item in items) and push["endpoint"] == "push"


@pytest.mark.slow
def test_one_hundred_parents_over_450_days(tmp_path, fake_line, database_url, shared_content):
    from bot.app import create_app
    from bot.services import build_services
    redis_server = RedisServer(tmp_path / "aof", appendonly=True).start()
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url)
    services = build_services(settings, content=shared_content)
    clock = services.clock = SimClock(datetime(2027, 1, 1))
    bot = BotDriver(create_app(services=services).test_client(), services, fake_line, CHANNEL_SECRET)
    schedule = load_schedule(PROJECT_ROOT / "flows")
    assert schedule.catch_up_days == CATCH_UP
    rng = random.Random(16)
    parents = [Parent(i, rng) for i in range(100)]
    leavers = rng.sample(parents, 10)
    for parent, how in zip(leavers, ["stop"] * 8 + ["unfollow", "delete"]):
        parent.leaves, parent.how_leaves = parent.joins + timedelta(days=rng.randint(5, 250)), how
    # The worker processes below also schedule their own catch-up sweep on the wall clock's date:
    # every parent here starts in 2027, so such a run finds nothing due.

    seen_at: dict[str, str] = {}             # retry key -> simulated local time it reached LINE
    sweep_days: list[date] = []
    crash_pending = True
    try:
        for offset in range(DAYS):
            day = START + timedelta(days=offset)
            for hour in (6, 22):             # night and early morning: never a reminder
                assert services.reminder_sweep().run(clock.at(day, hour, 30)).skipped_quiet_hours
            if crash_pending and day >= CRASH_DAY and services.reminder_sweep().due_today(day):
                _sweep_in_a_worker_killed_mid_send(services, settings, fake_line, redis_server, clock.at(day))
                crash_pending = False
            else:
                services.reminder_sweep().run(clock.at(day))
            sweep_days.append(day)
            _note_new_pushes(fake_line, seen_at, clock.local(clock.now()).strftime("%H:%M"))
            clock.at(day, 12)
            _noon_changes(services, bot, parents, day)
            _note_new_pushes(fake_line, seen_at, "noon-events")
    finally:
        redis_server.stop()

    assert not crash_pending                                           # the worker kill did happen
    pushes = [p for p in fake_line.state.received if is_reminder(p)]
    assert all(at == "10:00" for key, at in seen_at.items() if key in {p["retryKey"] for p in pushes})
    counts = Counter(p["retryKey"] for p in pushes)
    assert max(counts.values()) == 1                                   # none twice
    total = 0
    for parent in parents:
        got = {p["retryKey"] for p in pushes if p["to"] == parent.line_id}
        want = expected_keys(parent, schedule, sweep_days)
        assert got == want, (parent.line_id, parent.locale, parent.how_leaves, len(got), len(want))
        total += len(got)
    with services.sessions() as session:
        assert session.query(ReminderSent).count() == total - _erased_count(parents, pushes)
    leavers_with_mail = [p for p in leavers if any(x["to"] == p.line_id for x in pushes)]
    assert leavers_with_mail                                           # the stop cut something real short
    print(f"\n[reminders] 100 parents, {DAYS} days: {total} reminders pushed, "
          f"{sum(1 for p in parents for _ in [0] if p.leaves)} stopped early")
    services.engine.dispose()


def _erased_count(parents: list[Parent], pushes: list[dict]) -> int:
    gone = {p.line_id for p in parents if p.how_leaves == "delete"}
    return sum(1 for push in pushes if push["to"] in gone)


def _note_new_pushes(fake_line, seen_at: dict, label: str) -> None:
    for push in fake_line.state.received:
        if push.get("retryKey") and push["retryKey"] not in seen_at:
            seen_at[push["retryKey"]] = label


def _noon_changes(services, bot, parents: list[Parent], day: date) -> None:
    for parent in parents:
        if parent.joins == day:
            _join(services, parent, day)
        if parent.born_told == day and parent.state_on(day) is not None:
            with services.sessions.begin() as session:        # what the birth checklist's "yes" stores
                subscription = session.get(ReminderSubscription, parent.user_id)
                subscription.birth_date, subscription.starts_on = parent.born_told, day
        if parent.leaves == day and parent.user_id is not None:
            if parent.how_leaves == "stop":
                bot.send(postback_event(parent.line_id, "rem:stop"))
            elif parent.how_leaves == "unfollow":
                bot.send(base_event("unfollow", parent.line_id))
            else:
                bot.send(postback_event(parent.line_id, "privacy:delete"))
                assert wait_until(functools.partial(_user_gone, services, parent.line_id), timeout=30)


def _join(services, parent: Parent, day: date) -> None:
    with services.sessions.begin() as session:
        user = User(line_user_id=parent.line_id, locale=parent.locale, locale_chosen=True, blocked=False,
                    consent=True, municipality=parent.municipality)
        session.add(user)
        session.flush()
        parent.user_id = user.id
        session.add(ReminderSubscription(user_id=user.id, birth_date=parent.birth, due_date=parent.due,
                                         starts_on=day, consented_at=services.clock.now()))


def _user_gone(services, line_id: str) -> bool:
    with services.sessions() as session:
        return session.scalar(select(User.id).where(User.line_user_id == line_id)) is None


def _sweep_in_a_worker_killed_mid_send(services, settings, fake_line, redis_server, at: datetime) -> None:
    """The day's sweep runs as an RQ job in a real worker; LINE is down, so the worker is
    killed in the middle (a sent-log row and its pending message written, nothing delivered);
    Redis restarts; a new worker runs the same sweep again: everything goes out exactly once."""
    fake_line.outage(300)
    queue = Queue(TASK_QUEUE, connection=services.redis)
    worker = start_worker(settings)
    before = _sent_rows(services)
    try:
        queue.enqueue(REMINDER_JOB, at.isoformat())
        assert wait_until(lambda: _sent_rows(services) > before, timeout=120)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert _pending_reminders(services) >= 1          # written with its sent-log row, not delivered
    redis_server.kill()
    time.sleep(0.5)
    redis_server.start()
    services.redis.connection_pool.disconnect()
    fake_line.state.outage = None
    worker = start_worker(settings)
    try:
        job = queue.enqueue(REMINDER_JOB, at.isoformat())
        assert wait_until(lambda: Job.fetch(job.id, connection=services.redis).get_status() == "finished", timeout=180)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert _pending_reminders(services) == 0


def _pending_reminders(services) -> int:
    with services.sessions() as session:
        return session.query(Message).filter(Message.event_id.like("rem:%"), Message.delivery_status == "pending").count()


def _sent_rows(services) -> int:
    with services.sessions() as session:
        return session.query(ReminderSent).count()
