"""The webhook's enqueue script (bot/adapters/redis_queue.py) on a real redis-server: each event is
stored once, in order; a user becomes ready when her list was empty, and drainer jobs (one RQ
itself reads back and runs) are queued only while fewer than the workers are alive."""
from __future__ import annotations

import socket
import uuid

from rq import Queue
from rq.job import Job

from bot.adapters.redis_queue import (
    DRAINER_JOB,
    DRAINERS_KEY,
    PENDING_KEY,
    QUEUE_NAME,
    READY_KEY,
    RedisPartitionInbox,
    RqEventQueue,
)
from tests.support.line_events import text_event


def queued_jobs(redis_client) -> list[Job]:
    queue = Queue(QUEUE_NAME, connection=redis_client)
    return [Job.fetch(job_id, connection=redis_client) for job_id in queue.job_ids]


def ready_users(redis_client) -> list[str]:
    return [user.decode() for user in redis_client.zrange(READY_KEY, 0, -1)]


def register_workers(redis_client, count: int) -> None:
    """What RQ's register_birth writes for workers listening on the events queue."""
    redis_client.sadd(f"rq:workers:{QUEUE_NAME}", *[f"rq:worker:w{i}" for i in range(count)])


def test_users_become_ready_in_order_and_one_drainer_serves_them(redis_client):
    queue = RqEventQueue(redis_client)
    alice, bob = f"U{uuid.uuid4().hex}", f"U{uuid.uuid4().hex}"
    assert queue.enqueue([text_event(alice, "one"), text_event(alice, "two"), text_event(bob, "hi")]) == 3
    assert queue.enqueue([text_event(alice, "three")]) == 1
    assert ready_users(redis_client) == [alice, bob]
    [job] = queued_jobs(redis_client)                  # no worker registered: one drainer at most
    assert job.func_name == "bot.jobs.drain_ready" and job.args == () and job.origin == QUEUE_NAME
    assert job.get_status() == "queued"
    assert [m.decode() for m in redis_client.zrange(DRAINERS_KEY, 0, -1)] == [job.id]
    texts = [raw for raw in redis_client.lrange(f"bot:events:{alice}", 0, -1)]
    assert [b'"text":"one"' in t for t in texts] == [True, False, False]
    assert b'"text":"three"' in texts[-1]
    assert {alice.encode(), bob.encode()} <= redis_client.smembers(PENDING_KEY)


def test_no_more_drainers_than_workers(redis_client):
    register_workers(redis_client, 2)
    queue = RqEventQueue(redis_client)
    users = [f"U{uuid.uuid4().hex}" for _ in range(5)]
    assert queue.enqueue([text_event(user, "hi") for user in users]) == 5
    assert len(queued_jobs(redis_client)) == 2 and ready_users(redis_client) == users


def test_a_redelivery_is_stored_once_and_queues_nothing(redis_client):
    queue = RqEventQueue(redis_client)
    user = f"U{uuid.uuid4().hex}"
    event = text_event(user, "hello")
    assert queue.enqueue([dict(event)]) == 1
    redis_client.delete(f"bot:events:{user}")            # handled meanwhile: the list is empty again
    assert queue.enqueue([dict(event, deliveryContext={"isRedelivery": True})]) == 0
    assert redis_client.llen(f"bot:events:{user}") == 0
    assert len(queued_jobs(redis_client)) == 1


def test_a_drainer_that_finds_nobody_leaves_and_the_next_event_queues_a_new_one(redis_client):
    """The check-and-exit is one step: once the drainer found the ready set empty its lease is
    gone, so an event arriving right after queues a drainer of its own."""
    queue, inbox = RqEventQueue(redis_client), RedisPartitionInbox(redis_client)
    user = f"U{uuid.uuid4().hex}"
    queue.enqueue([text_event(user, "first")])
    [job] = queued_jobs(redis_client)
    owner = inbox.new_drainer(job.id)
    assert inbox.take_ready(job.id, owner) == user
    assert [m.decode() for m in redis_client.zrange(DRAINERS_KEY, 0, -1)] == [owner]     # the running lease
    queue.enqueue([text_event(user, "meanwhile")])        # her list is not empty: nothing new
    assert len(queued_jobs(redis_client)) == 1
    redis_client.delete(f"bot:events:{user}")            # the drain handled both
    assert inbox.take_ready(job.id, owner) is None
    assert redis_client.zcard(DRAINERS_KEY) == 0
    queue.enqueue([text_event(user, "later")])
    assert len(queued_jobs(redis_client)) == 2 and ready_users(redis_client) == [user]


def test_dead_drainers_are_dropped_and_waiting_users_get_a_new_one(redis_client):
    """A drainer whose job is gone (finished, failed, lost) or whose process died holds no place."""
    queue, inbox = RqEventQueue(redis_client), RedisPartitionInbox(redis_client)
    user = f"U{uuid.uuid4().hex}"
    queue.enqueue([text_event(user, "hello")])
    Queue(QUEUE_NAME, connection=redis_client).empty()    # its job lost
    assert inbox.recover() == 1
    [job] = queued_jobs(redis_client)
    owner = inbox.new_drainer(job.id)
    assert inbox.take_ready(job.id, owner) == user
    inbox.finish_drainer(owner)                           # as when the process lost Redis mid-drain
    redis_client.zadd(DRAINERS_KEY, {owner: 10**15})      # ... and its lease survived
    dead_pid = f"{socket.gethostname()}:999999999:ab|{job.id}"
    redis_client.zadd(DRAINERS_KEY, {dead_pid: 10**15})   # a drainer killed on this machine
    assert inbox.drop_dead_drainers() == 2 and redis_client.zcard(DRAINERS_KEY) == 0
    assert inbox.requeue_idle() == (1, 1)                 # the sweep: she waits, nobody holds her list
    assert inbox.requeue_idle() == (0, 0)                 # still ready, a drainer queued: not again
    assert len(queued_jobs(redis_client)) == 2


def test_the_script_is_loaded_again_after_redis_forgot_it(redis_client):
    queue = RqEventQueue(redis_client)
    redis_client.script_flush()
    user = f"U{uuid.uuid4().hex}"
    assert queue.enqueue([text_event(user, "after a restart")]) == 1
    assert redis_client.llen(f"bot:events:{user}") == 1
    assert ready_users(redis_client) == [user] and len(queued_jobs(redis_client)) == 1


def test_the_drainer_job_is_stored_as_rqs_own_enqueue_stores_it(redis_client):
    """The scripts build the job's fields themselves (no RQ Job per event): the hash must be what
    RQ's enqueue writes for the same call, id and times aside."""
    queue = RqEventQueue(redis_client)
    queue.enqueue([text_event(f"U{uuid.uuid4().hex}", "hello")])
    [job_id] = Queue(QUEUE_NAME, connection=redis_client).job_ids
    ours = redis_client.hgetall(f"rq:job:{job_id}")
    reference_id = f"reference-{uuid.uuid4().hex}"
    Queue(QUEUE_NAME, connection=redis_client).enqueue_many(
        [Queue.prepare_data(DRAINER_JOB, job_id=reference_id, result_ttl=60, failure_ttl=7 * 24 * 3600)])
    reference = redis_client.hgetall(f"rq:job:{reference_id}")
    for timed in (b"created_at", b"enqueued_at"):
        assert len(ours.pop(timed)) == len(reference.pop(timed))
    assert ours == reference
    assert Job.fetch(job_id, connection=redis_client).func_name == DRAINER_JOB


def test_a_connection_redis_closed_is_replaced_and_the_event_kept(redis_client):
    queue = RqEventQueue(redis_client)
    user = f"U{uuid.uuid4().hex}"
    assert queue.enqueue([text_event(user, "before")]) == 1
    redis_client.client_kill_filter(_type="normal", skipme=True)     # the queue's kept connection too
    assert queue.enqueue([text_event(user, "after")]) == 1
    assert redis_client.llen(f"bot:events:{user}") == 2


def test_every_event_of_a_body_gets_its_answer_in_one_exchange(redis_client):
    """Answers are read in order for a body of many events, repeats included."""
    queue = RqEventQueue(redis_client)
    users = [f"U{uuid.uuid4().hex}" for _ in range(3)]
    events = [text_event(users[i % 3], f"message {i}") for i in range(30)]
    assert queue.enqueue([dict(e) for e in events[:10]]) == 10
    assert queue.enqueue([dict(e) for e in events]) == 20                # the first ten are repeats
    assert [redis_client.llen(f"bot:events:{u}") for u in users] == [10, 10, 10]
    assert sorted(ready_users(redis_client)) == sorted(users) and len(queued_jobs(redis_client)) == 1


def test_the_last_ack_lets_the_lock_go_and_a_later_event_makes_the_user_ready_again(redis_client):
    queue, inbox = RqEventQueue(redis_client), RedisPartitionInbox(redis_client)
    user = f"U{uuid.uuid4().hex}"
    queue.enqueue([text_event(user, "first"), text_event(user, "second")])
    redis_client.delete(READY_KEY)                       # a drainer took her
    owner = inbox.new_owner()
    locked, first = inbox.lock_and_peek(user, owner)
    assert locked and '"first"' in first
    assert not inbox.lock_and_peek(user, inbox.new_owner())[0]       # held: another drain keeps off
    second = inbox.ack_and_next(user, first, owner)
    assert '"second"' in second and inbox.is_locked(user)
    assert inbox.ack_and_next(user, second, owner) is None
    assert not inbox.is_locked(user) and inbox.waiting_partitions() == []     # let go in the same step
    queue.enqueue([text_event(user, "third")])
    assert ready_users(redis_client) == [user]


def test_a_lock_left_by_a_dead_worker_on_this_machine_is_taken_over(redis_client):
    queue, inbox = RqEventQueue(redis_client), RedisPartitionInbox(redis_client)
    user = f"U{uuid.uuid4().hex}"
    queue.enqueue([text_event(user, "hello")])
    redis_client.set(f"bot:lock:{user}", f"{socket.gethostname()}:999999:dead", px=60_000)    # no such process
    locked, head = inbox.lock_and_peek(user, inbox.new_owner())
    assert locked and '"hello"' in head
