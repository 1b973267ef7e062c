"""Workers as real processes: killed mid-job, several at once, per-user order."""
from __future__ import annotations

import signal

import pytest
from sqlalchemy import select

from bot.store.models import Message
from tests.support.generated import consenting_users
from tests.support.line_events import text_event
from tests.support.processes import run_burst_worker, start_worker, wait_until


@pytest.mark.slow
def test_worker_killed_during_a_job_still_answers_once(bot, fake_line, settings):
    fake_line.fail_next({"hang": 4, "endpoint": "reply"})
    assert bot.post(text_event("Ukill", "hello")).status_code == 200
    worker = start_worker(settings)
    try:
        assert wait_until(lambda: any(c["endpoint"] == "reply" for c in fake_line.state.calls) or
                          len(fake_line.state.failures) == 0, timeout=30)
    finally:
        # Killed even when the wait fails: a worker left running shares the session's Redis and
        # would take the next tests' events into this test's database.
        worker.send_signal(signal.SIGKILL)      # dies while LINE has not answered yet
        worker.wait(timeout=10)
    run_burst_worker(settings)
    assert len(fake_line.messages_to("Ukill")) == 1


@pytest.mark.slow
def test_worker_killed_mid_batch_every_event_answered_exactly_once(bot, fake_line, settings, services):
    users = [f"Ubatch{i}" for i in range(20)]
    events = [text_event(user, f"message {n}") for n in range(5) for user in users]
    for chunk in range(0, len(events), 10):
        assert bot.post(*events[chunk:chunk + 10]).status_code == 200
    worker = start_worker(settings)
    wait_until(lambda: len(fake_line.state.received) >= 15, timeout=60)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    run_burst_worker(settings)
    for user in users:
        assert len(fake_line.messages_to(user)) == 5, user
    with services.sessions() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in").order_by(Message.id)).all()
    assert len(inbound) == 100


@pytest.mark.slow
def test_two_workers_keep_each_users_order(bot, fake_line, settings, services):
    users = [f"Uorder{i}" for i in range(10)]
    consenting_users(services.sessions, users)
    for n in range(6):
        assert bot.post(*[text_event(user, f"{user} #{n}") for user in users]).status_code == 200
    workers = [start_worker(settings, "--burst") for _ in range(2)]
    for worker in workers:
        worker.communicate(timeout=120)
    with services.sessions() as session:
        for user in users:
            texts = session.scalars(select(Message.text).where(Message.direction == "in")
                                    .order_by(Message.id)).all()
            mine = [t for t in texts if t.startswith(user + " ")]
            assert mine == [f"{user} #{n}" for n in range(6)]
    assert all(len(fake_line.messages_to(user)) == 6 for user in users)


def _scheduled(redis_client, job_id: str) -> bool:
    from rq.registry import ScheduledJobRegistry

    from bot.adapters.tasks import TASK_QUEUE
    return job_id in ScheduledJobRegistry(TASK_QUEUE, connection=redis_client)


@pytest.mark.slow
@pytest.mark.parametrize("waiting_event", [False, True], ids=["idle", "event-waiting"])
def test_a_started_worker_schedules_its_periodic_jobs_with_or_without_a_first_job(
        bot, fake_line, settings, redis_client, tmp_path, waiting_event):
    """The start-up work runs after the first waiting job (fast start), or at once when none waits:
    either way the retention and quota jobs and the reminder sweep get scheduled."""
    from bot.pipeline.quota import QUOTA_JOB_ID
    from bot.store.retention import RETENTION_JOB_ID
    from tests.support.processes import start_logged_worker
    if waiting_event:
        assert bot.post(text_event("Ufirst", "hello")).status_code == 200
    worker = start_logged_worker(settings, tmp_path)
    try:
        assert wait_until(lambda: _scheduled(redis_client, RETENTION_JOB_ID) and _scheduled(redis_client, QUOTA_JOB_ID)
                          and redis_client.keys(b"rq:job:reminders-daily-*"),
                          timeout=90)
        if waiting_event:
            assert wait_until(lambda: len(fake_line.messages_to("Ufirst")) == 1, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
