"""Fault tests: Redis restarts, LINE failures, database outages, fuzzed webhooks, a crowd of users."""
from __future__ import annotations

import json
import signal

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.store.models import Message, ProcessedEvent
from tests.conftest import make_settings
from tests.support.generated import consenting_users
from tests.support.line_events import signed_headers, text_event
from tests.support.processes import run_burst_worker, start_worker, wait_until
from tests.support.redis_server import RedisServer


@pytest.fixture
def aof_redis(tmp_path):
    server = RedisServer(tmp_path / "aof", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def aof_bot(tmp_path, aof_redis, fake_line, database_url):
    from bot.app import create_app
    from bot.services import build_services
    from tests.support.bot_driver import BotDriver
    settings = make_settings(tmp_path, aof_redis.url, fake_line.url, database_url)
    services = build_services(settings)
    return BotDriver(create_app(services=services).test_client(), services, fake_line, "test-channel-secret")


@pytest.mark.slow
def test_redis_restart_during_a_burst_loses_no_acknowledged_event(aof_bot, aof_redis, fake_line):
    acknowledged, refused = [], 0
    for n in range(60):
        if n == 30:
            aof_redis.kill()                       # hard stop, as a crash would
        if n == 40:
            aof_redis.start()
        event = text_event(f"Uaof{n % 6}", f"message {n}")
        try:
            status = aof_bot.post(event).status_code
        except redis_lib.RedisError:
            status = 503
        if status == 200:
            acknowledged.append(event)
        else:
            assert status == 503
            refused += 1
    assert refused >= 5 and len(acknowledged) >= 50
    aof_bot.services.redis.connection_pool.disconnect()
    run_burst_worker(aof_bot.services.settings)
    with aof_bot.services.sessions() as session:
        handled = set(session.scalars(select(ProcessedEvent.event_id)).all())
    assert {e["webhookEventId"] for e in acknowledged} <= handled


def test_line_429_then_success_sends_once(bot, fake_line):
    event = text_event("U429", "hello")
    event["timestamp"] = 1
    fake_line.fail_next({"status": 429, "endpoint": "push"}, {"status": 429, "endpoint": "push"})
    bot.send(event)
    assert [c["status"] for c in fake_line.state.calls if c["endpoint"] == "push"] == [429, 429, 200]
    assert len(fake_line.messages_to("U429")) == 1


def test_line_hanging_is_retried_after_the_timeout(tmp_path, redis_server, redis_client, fake_line, database_url):
    from bot.app import create_app
    from bot.services import build_services
    from tests.support.bot_driver import BotDriver
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, line_timeout_s=0.5)
    services = build_services(settings, redis_client)
    bot = BotDriver(create_app(services=services).test_client(), services, fake_line, "test-channel-secret")
    event = text_event("Uhang", "hello")
    event["timestamp"] = 1
    fake_line.fail_next({"hang": 1.5, "endpoint": "push"})
    bot.send(event)
    pushes = [c for c in fake_line.state.calls if c["endpoint"] == "push"]
    assert len(fake_line.messages_to("Uhang")) == 1 and len({c["retryKey"] for c in pushes}) == 1


def test_line_keeps_failing_the_message_stays_pending_and_the_event_queued(bot, fake_line, services):
    event = text_event("Udown", "hello")
    event["timestamp"] = 1
    fake_line.fail_next(*[{"status": 500, "endpoint": "push"}] * 5)
    assert bot.post(event).status_code == 200
    with pytest.raises(Exception, match="500"):
        services.event_processor().drain("Udown")
    with services.sessions() as session:
        assert session.scalar(select(Message.delivery_status).where(Message.direction == "out")) == "pending"
    assert services.inbox.length("Udown") == 1            # still queued: a retry will send it
    services.event_processor().drain("Udown")
    assert len(fake_line.messages_to("Udown")) == 1


def test_database_unavailable_nothing_half_written_then_handled_once(bot, services, monkeypatch):
    from bot.pipeline import processing
    assert bot.post(text_event("Udb", "hello")).status_code == 200
    original = processing.insert_turn_messages

    def database_gone(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(processing, "insert_turn_messages", database_gone)
    with pytest.raises(OperationalError):
        services.event_processor().drain("Udb")
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
    monkeypatch.setattr(processing, "insert_turn_messages", original)
    bot.work()
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) == 1
    assert len(bot.line.messages_to("Udb")) == 1


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
                           lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
                           max_leaves=20)
event_like = st.fixed_dictionaries({"type": st.sampled_from(["message", "postback", "follow", "unfollow", "join", "beacon", "x"]),
                                    "source": st.one_of(json_values, st.fixed_dictionaries({"type": st.just("user"), "userId": st.text(min_size=1, max_size=40)})),
                                    "message": json_values, "postback": json_values, "timestamp": json_values,
                                    "replyToken": json_values, "webhookEventId": st.one_of(st.text(max_size=70), json_values)})


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                      st.lists(event_like, max_size=3).map(lambda events: json.dumps({"destination": "U", "events": events}).encode())),
       sign=st.booleans())
def test_fuzzed_callback_never_5xx_and_the_worker_survives(bot, body, sign):
    headers = signed_headers(body, bot.secret) if sign else {"X-Line-Signature": "AAAA"}
    response = bot.client.post("/callback", data=body, headers=headers)
    assert response.status_code < 500
    bot.services.event_processor().drain                  # noqa: B018 - the attribute exists
    from bot.pipeline.worker import run_worker
    run_worker(bot.services, burst=True)
    assert bot.services.inbox.backlog() == 0


@pytest.mark.slow
def test_worker_killed_mid_batch_of_500_events_every_event_answered_once(bot, fake_line, settings, services):
    users = [f"Ukill500-{i}" for i in range(100)]
    events = [text_event(user, f"message {n}") for n in range(5) for user in users]
    for chunk in range(0, len(events), 25):
        assert bot.post(*events[chunk:chunk + 25]).status_code == 200
    worker = start_worker(settings)
    wait_until(lambda: len(fake_line.state.received) >= 120, timeout=120)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    run_burst_worker(settings, timeout=600)
    answered = {user: len(fake_line.messages_to(user)) for user in users}
    assert set(answered.values()) == {5}


@pytest.mark.slow
def test_1000_users_5_messages_each_all_answered_in_order(bot, fake_line, settings, services):
    users = [f"Ucrowd{i}" for i in range(1000)]
    consenting_users(services.sessions, users)
    for n in range(5):
        batch = [text_event(user, f"{user} {n}") for user in users]
        for chunk in range(0, len(batch), 50):
            assert bot.post(*batch[chunk:chunk + 50]).status_code == 200
    workers = [start_worker(settings, "--burst") for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err.decode()[-2000:]
    with services.sessions() as session:
        texts = session.scalars(select(Message.text).where(Message.direction == "in").order_by(Message.id)).all()
    assert len(texts) == 5000
    order: dict[str, list[int]] = {}
    for text in texts:
        user, n = text.rsplit(" ", 1)
        order.setdefault(user, []).append(int(n))
    assert all(sequence == [0, 1, 2, 3, 4] for sequence in order.values())
    assert all(len(fake_line.messages_to(user)) == 5 for user in users)
