"""The webhook's enqueue script (bot/adapters/redis_queue.py) on a real redis-server: each event is
stored once, in order, and a drain job is queued only when its user's list was empty; the job is
one RQ itself reads back and runs."""
from __future__ import annotations

import uuid

from rq import Queue
from rq.job import Job

from bot.adapters.redis_queue import PENDING_KEY, QUEUE_NAME, RqEventQueue, job_id_for
from tests.support.line_events import text_event


def queued_jobs(redis_client) -> list[Job]:
    queue = Queue(QUEUE_NAME, connection=redis_client)
    return [Job.fetch(job_id, connection=redis_client) for job_id in queue.job_ids]


def test_one_drain_job_per_user_while_events_wait(redis_client):
    queue = RqEventQueue(redis_client)
    alice, bob = f"U{uuid.uuid4().hex}", f"U{uuid.uuid4().hex}"
    first = text_event(alice, "one")
    assert queue.enqueue([first, text_event(alice, "two"), text_event(bob, "hi")]) == 3
    assert queue.enqueue([text_event(alice, "three")]) == 1
    jobs = queued_jobs(redis_client)
    assert sorted(job.args for job in jobs) == sorted([(alice,), (bob,)])
    job = next(j for j in jobs if j.args == (alice,))
    assert job.id == job_id_for(first["webhookEventId"])
    assert job.func_name == "bot.jobs.drain_partition" and job.origin == QUEUE_NAME
    assert job.get_status() == "queued" and job.retries_left == 5
    texts = [raw for raw in redis_client.lrange(f"bot:events:{alice}", 0, -1)]
    assert [b'"text":"one"' in t for t in texts] == [True, False, False]
    assert b'"text":"three"' in texts[-1]
    assert {alice.encode(), bob.encode()} <= redis_client.smembers(PENDING_KEY)


def test_a_redelivery_is_stored_once_and_queues_nothing(redis_client):
    queue = RqEventQueue(redis_client)
    user = f"U{uuid.uuid4().hex}"
    event = text_event(user, "hello")
    assert queue.enqueue([dict(event)]) == 1
    redis_client.delete(f"bot:events:{user}")            # handled meanwhile: the list is empty again
    assert queue.enqueue([dict(event, deliveryContext={"isRedelivery": True})]) == 0
    assert redis_client.llen(f"bot:events:{user}") == 0
    assert [job.args for job in queued_jobs(redis_client)] == [(user,)]


def test_a_list_emptied_by_a_worker_gets_a_new_job_for_the_next_event(redis_client):
    queue = RqEventQueue(redis_client)
    user = f"U{uuid.uuid4().hex}"
    queue.enqueue([text_event(user, "first")])
    redis_client.delete(f"bot:events:{user}")            # a worker drained it
    later = text_event(user, "later")
    queue.enqueue([later])
    assert job_id_for(later["webhookEventId"]) in Queue(QUEUE_NAME, connection=redis_client).job_ids


def test_the_script_is_loaded_again_after_redis_forgot_it(redis_client):
    queue = RqEventQueue(redis_client)
    redis_client.script_flush()
    user = f"U{uuid.uuid4().hex}"
    assert queue.enqueue([text_event(user, "after a restart")]) == 1
    assert redis_client.llen(f"bot:events:{user}") == 1
    assert [job.args for job in queued_jobs(redis_client)] == [(user,)]


def test_the_drain_job_is_stored_as_rqs_own_enqueue_stores_it(redis_client):
    """The webhook builds the job's fields itself (no RQ Job per event): the hash must be what
    RQ's enqueue writes for the same call, times aside, for ordinary and odd user ids."""
    from bot.adapters.redis_queue import drain_job_data
    queue = RqEventQueue(redis_client)
    for user in (f"U{uuid.uuid4().hex}", "Cgroup'\"\\é\u3042", "x" * 64):
        event = text_event(user, "hello")
        queue.enqueue([event])
        ours = redis_client.hgetall(f"rq:job:{job_id_for(event['webhookEventId'])}")
        reference_id = f"reference-{uuid.uuid4().hex}"
        Queue(QUEUE_NAME, connection=redis_client).enqueue_many([drain_job_data(user, reference_id)])
        reference = redis_client.hgetall(f"rq:job:{reference_id}")
        for timed in (b"created_at", b"enqueued_at"):
            assert len(ours.pop(timed)) == len(reference.pop(timed))
        assert ours == reference
        assert Job.fetch(job_id_for(event["webhookEventId"]), connection=redis_client).args == (user,)


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
    assert sorted(job.args for job in queued_jobs(redis_client) if job.args[0] in users) == sorted((u,) for u in users)
