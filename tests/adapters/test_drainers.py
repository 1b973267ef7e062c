"""Drainers (bot/pipeline/drainers.py) over the real scripts on a real redis-server: users taken
oldest first until none is left, a failing user retried on her own, a hand-over when time is up,
outages."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy.exc import OperationalError

from bot.adapters.redis_queue import DRAINERS_KEY, QUEUE_NAME, READY_KEY, RedisPartitionInbox, RqEventQueue
from bot.pipeline.delivery import DeliveryPendingError
from bot.pipeline.drainers import Drainer
from tests.support.line_events import text_event


def _ready(redis_client, count: int) -> tuple[RedisPartitionInbox, list[str], str]:
    """`count` users with one event each, as the webhook leaves them; the drainer job's id."""
    users = [f"U{uuid.uuid4().hex}" for _ in range(count)]
    RqEventQueue(redis_client).enqueue([text_event(user, "hi") for user in users])
    [job_id] = Queue(QUEUE_NAME, connection=redis_client).job_ids
    return RedisPartitionInbox(redis_client), users, job_id


def test_a_drainer_takes_every_ready_user_oldest_first_then_leaves(redis_client):
    inbox, users, job_id = _ready(redis_client, 5)
    drained: list[str] = []
    assert Drainer(inbox, lambda user: drained.append(user) or 1).run(job_id) == 5
    assert drained == users
    assert redis_client.zcard(READY_KEY) == 0 and redis_client.zcard(DRAINERS_KEY) == 0
    assert Queue(QUEUE_NAME, connection=redis_client).count == 1        # its own job only: no successor


def test_a_user_whose_event_fails_on_its_own_is_retried_alone_and_the_others_go_on(redis_client):
    inbox, users, job_id = _ready(redis_client, 3)
    drained: list[str] = []

    def drain(user: str) -> int:
        if user == users[1]:
            raise ValueError("a bug this event triggers")
        drained.append(user)
        return 1
    assert Drainer(inbox, drain).run(job_id) == 2
    assert drained == [users[0], users[2]]
    [retry] = ScheduledJobRegistry(QUEUE_NAME, connection=redis_client).get_job_ids()
    assert Queue(QUEUE_NAME, connection=redis_client).fetch_job(retry).args == (users[1],)
    inbox.retry_later(users[1])                     # failing again before it ran: still one retry
    assert len(ScheduledJobRegistry(QUEUE_NAME, connection=redis_client).get_job_ids()) == 1


def test_when_its_time_is_up_a_drainer_hands_over_to_a_successor(redis_client):
    inbox, users, job_id = _ready(redis_client, 4)
    ticks = iter(range(100))
    drained: list[str] = []
    Drainer(inbox, lambda user: drained.append(user) or 1, run_for_s=3, clock=lambda: next(ticks)).run(job_id)
    assert drained == users[:2]
    assert [u.decode() for u in redis_client.zrange(READY_KEY, 0, -1)] == users[2:]
    queue = Queue(QUEUE_NAME, connection=redis_client)
    assert queue.count == 2 and redis_client.zcard(DRAINERS_KEY) == 1    # the successor's lease only
    [successor] = [j for j in queue.job_ids if j != job_id]
    assert Drainer(inbox, lambda user: drained.append(user) or 1).run(successor) == 2 and drained == users


def test_line_down_leaves_that_user_to_the_sweep_and_the_drainer_goes_on(redis_client):
    inbox, users, job_id = _ready(redis_client, 2)

    def drain(user: str) -> int:
        if user == users[0]:
            raise DeliveryPendingError("LINE 500")
        return 1
    assert Drainer(inbox, drain).run(job_id) == 1
    assert ScheduledJobRegistry(QUEUE_NAME, connection=redis_client).get_job_ids() == []
    assert inbox.requeue_idle() == (2, 1)           # the sweep: both wait (nobody popped the events here)


def test_the_database_down_stops_the_drainer_and_the_users_wait_for_recovery(redis_client):
    inbox, users, job_id = _ready(redis_client, 3)

    def drain(user: str) -> int:
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))
    with pytest.raises(OperationalError):
        Drainer(inbox, drain).run(job_id)
    assert [u.decode() for u in redis_client.zrange(READY_KEY, 0, -1)] == users[1:]
    assert redis_client.zcard(DRAINERS_KEY) == 1     # its lease handed to one successor
    assert inbox.recover() == 3 and redis_client.zcard(READY_KEY) == 3


def _started(redis_client, job_id: str) -> None:
    """RQ took the drainer's job off the queue, as a worker does before running it."""
    Queue(QUEUE_NAME, connection=redis_client).remove(job_id)


def test_an_idle_drainer_waits_a_moment_and_takes_a_user_who_arrives_meanwhile(redis_client):
    inbox, users, job_id = _ready(redis_client, 1)
    _started(redis_client, job_id)
    late = f"U{uuid.uuid4().hex}"
    drained: list[str] = []

    def drain(user: str) -> int:
        drained.append(user)
        if user == users[0]:            # while the first turn runs, another parent writes
            threading.Timer(0.2, RqEventQueue(redis_client).enqueue, [[text_event(late, "hello")]]).start()
        return 1
    assert Drainer(inbox, drain, linger_s=2.0, wait_poll_s=0.5).run(job_id) == 2
    assert drained == [users[0], late]
    assert Queue(QUEUE_NAME, connection=redis_client).count == 0     # the waiting drainer took her: no new job
    assert redis_client.zcard(DRAINERS_KEY) == 0                     # and left when idle for linger_s


def test_a_waiting_drainer_leaves_at_once_when_a_task_waits_for_its_worker(redis_client):
    inbox, _users, job_id = _ready(redis_client, 1)
    _started(redis_client, job_id)
    Queue("bot-tasks", connection=redis_client).enqueue("bot.jobs.alert_admins", "subject", "body")
    started = time.monotonic()
    assert Drainer(inbox, lambda user: 1, linger_s=30.0).run(job_id) == 1
    assert time.monotonic() - started < 5 and redis_client.zcard(DRAINERS_KEY) == 0


def test_a_waiting_drainer_stops_waiting_on_a_stop_request(redis_client):
    inbox, _users, job_id = _ready(redis_client, 1)
    _started(redis_client, job_id)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    assert Drainer(inbox, lambda user: 1, linger_s=30.0, wait_poll_s=0.2, stop=stop).run(job_id) == 1
    assert time.monotonic() - started < 5
    assert redis_client.zcard(DRAINERS_KEY) == 0                     # its lease went as it left
