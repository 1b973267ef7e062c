"""Events set aside: only for their own faults, after attempts spread over time; listed, replayed,
dropped (command line and inbox), expired, and erased with the user's data."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.store.models import Message
from tests.conftest import REPO, make_settings
from tests.support.inbox import PASSWORD, csrf, login
from tests.support.line_events import text_event
from tests.support.processes import worker_env


def _services(tmp_path, redis_server, redis_client, fake_line, database_url, shared_content, **overrides):
    from bot.services import build_services
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, **overrides)
    return build_services(settings, redis_client, content=shared_content)


def _broken_event(services, user_id: str) -> str:
    """An event that fails on its own content: what is stored for it is not JSON at all."""
    raw = '{"type": "message", "source": {"type": "user", "userId": "' + user_id + '"}, broken'
    services.redis.rpush(f"bot:events:{user_id}", raw)
    services.redis.sadd("bot:pending-partitions", user_id)
    return raw


def test_an_outage_never_counts_toward_setting_an_event_aside(bot, services, monkeypatch):
    from bot.pipeline import processing
    assert bot.post(text_event("Uoutage", "hello")).status_code == 200

    def database_gone(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(processing, "insert_turn_messages", database_gone)
    for _ in range(12):
        with pytest.raises(OperationalError):
            services.event_processor().drain("Uoutage")
    assert services.dead_letters.list() == []
    assert not list(services.redis.scan_iter("bot:attempts:*"))
    monkeypatch.undo()
    bot.work()
    assert len(bot.line.messages_to("Uoutage")) == 1


def test_a_burst_of_retries_counts_as_one_attempt(tmp_path, redis_server, redis_client, fake_line, database_url,
                                                  shared_content):
    services = _services(tmp_path, redis_server, redis_client, fake_line, database_url, shared_content,
                         dead_letter_attempt_spacing_s=30.0)
    _broken_event(services, "Uburst")
    for _ in range(10):                     # ten jobs of one user hitting the same head event at once
        with pytest.raises(ValueError):
            services.event_processor().drain("Uburst")
    assert services.dead_letters.list() == []
    assert services.inbox.length("Uburst") == 1


def test_an_event_failing_on_its_own_is_set_aside_after_spaced_attempts_and_the_next_goes_on(
        tmp_path, redis_server, redis_client, fake_line, database_url, shared_content):
    from bot.app import create_app
    from tests.support.bot_driver import BotDriver
    services = _services(tmp_path, redis_server, redis_client, fake_line, database_url, shared_content,
                         dead_letter_attempt_spacing_s=0.05, dead_letter_after_attempts=3)
    bot = BotDriver(create_app(services=services).test_client(), services, fake_line, "test-channel-secret")
    raw = _broken_event(services, "Ubroken")
    assert bot.post(text_event("Ubroken", "hello after")).status_code == 200
    for _ in range(2):
        with pytest.raises(ValueError):
            services.event_processor().drain("Ubroken")
        time.sleep(0.1)
    services.event_processor().drain("Ubroken")           # third spaced attempt: set aside, the next goes on
    [entry] = services.dead_letters.list()
    assert entry.event == raw and entry.partition == "Ubroken" and "JSONDecodeError" in entry.reason
    assert len(fake_line.messages_to("Ubroken")) == 1
    assert services.inbox.length("Ubroken") == 0


def _old_text_event(user_id: str, text: str) -> str:
    """A stored event whose reply token has long expired: its answer goes by push."""
    event = text_event(user_id, text)
    event["timestamp"] = 1
    return json.dumps(event, separators=(",", ":"))


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "dead-letter", *args], cwd=REPO, env=worker_env(settings),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_dead_letter_command_lists_replays_and_drops(settings, services, fake_line):
    kept = _old_text_event("Ucli1", "please answer")
    dropped = _old_text_event("Ucli2", "never mind")
    services.inbox.dead_letter(kept, "RuntimeError: a bug")
    services.inbox.dead_letter(dropped, "RuntimeError: a bug")
    listing = _cli(settings, "list", "--json")
    assert listing.returncode == 0, listing.stderr[-2000:]
    entries = {e["partition"]: e for e in json.loads(listing.stdout)}
    assert set(entries) == {"Ucli1", "Ucli2"} and entries["Ucli1"]["event"] == kept
    assert entries["Ucli1"]["reason"] == "RuntimeError: a bug" and entries["Ucli1"]["event_type"] == "message"
    assert "Ucli1"[:5] in _cli(settings, "list").stdout

    replay = _cli(settings, "replay", entries["Ucli1"]["id"], "--json")
    assert replay.returncode == 0 and json.loads(replay.stdout) == {"replayed": [entries["Ucli1"]["id"]], "unknown": []}
    drop = _cli(settings, "drop", entries["Ucli2"]["id"], "nosuchid")
    assert drop.returncode == 1 and "nosuchid" in drop.stdout
    assert json.loads(_cli(settings, "list", "--json").stdout) == []

    from bot.pipeline.worker import run_worker
    run_worker(services, burst=True)                      # the replayed event is handled now
    assert len(fake_line.messages_to("Ucli1")) == 1
    assert fake_line.messages_to("Ucli2") == []


def test_delete_my_data_and_retention_erase_set_aside_events(bot, services):
    from bot.store.erase import erase_user
    bot.follow("Uerase", language="en")
    services.inbox.dead_letter(json.dumps(text_event("Uerase", "my secret")), "RuntimeError")
    services.inbox.dead_letter(json.dumps(text_event("Uother", "other text")), "RuntimeError")
    with services.sessions.begin() as session:
        counts = erase_user(session, "Uerase", services.redis)
    assert counts["set_aside_events"] == 1
    remaining = services.dead_letters.list()
    assert [e.partition for e in remaining] == ["Uother"]
    assert not any(b"my secret" in (services.redis.get(k) or b"") for k in services.redis.scan_iter("bot:dead:*"))
    assert services.dead_letters.expire_before(time.time() + 1) == 1
    assert services.dead_letters.list() == []


def test_set_aside_events_expire_by_themselves(services):
    from bot.adapters.dead_letters import RedisDeadLetters
    entry = RedisDeadLetters(services.redis, keep_days=3).add(json.dumps(text_event("Uttl", "x")), "Uttl", "E")
    ttl = services.redis.ttl(f"bot:dead:{entry.id}")
    assert 2 * 24 * 3600 < ttl <= 3 * 24 * 3600
    services.redis.delete(f"bot:dead:{entry.id}")          # as when it expires
    assert services.dead_letters.list() == [] and services.redis.zcard("bot:dead-letters") == 0


def test_entries_of_the_old_list_format_are_kept(services):
    services.redis.rpush("bot:dead-letter", json.dumps({"event": json.dumps(text_event("Uold", "x")), "reason": "Old"}))
    [entry] = services.dead_letters.list()
    assert entry.partition == "Uold" and entry.reason == "Old"


def test_admin_sees_replays_and_drops_set_aside_events_in_the_inbox(bot, services, client, advisor, fake_line):
    services.inbox.dead_letter(_old_text_event("Uweb1", "hello"), "RuntimeError: a bug")
    services.inbox.dead_letter(_old_text_event("Uweb2", "hello"), "KeyError: 'x'")
    login(client)
    assert client.get("/inbox/admin/dead-letters").status_code == 403         # advisors cannot
    client.post("/inbox/logout", data={"csrf_token": csrf(client.get("/inbox/").data)})
    login(client, email="admin@npo.example", password=PASSWORD)
    page = client.get("/inbox/admin/dead-letters")
    assert page.status_code == 200 and b"KeyError" in page.data and b"RuntimeError" in page.data
    ids = {e.partition: e.id for e in services.dead_letters.list()}
    token = csrf(page.data)
    assert client.post(f"/inbox/admin/dead-letters/{ids['Uweb1']}", data={"action": "replay", "csrf_token": token}).status_code == 302
    assert client.post(f"/inbox/admin/dead-letters/{ids['Uweb2']}", data={"action": "drop", "csrf_token": token}).status_code == 302
    assert client.post("/inbox/admin/dead-letters/nosuch", data={"action": "drop", "csrf_token": token}).status_code == 404
    assert services.dead_letters.list() == []
    bot.work()
    assert len(fake_line.messages_to("Uweb1")) == 1 and fake_line.messages_to("Uweb2") == []


def test_the_inbox_shows_how_long_answers_have_waited_for_line(bot, services, client, advisor, fake_line):
    from datetime import datetime, timedelta
    fake_line.outage(60)
    event = text_event("Upend", "hello")
    event["timestamp"] = 1
    bot.post(event)
    from bot.pipeline.delivery import DeliveryPendingError
    with pytest.raises(DeliveryPendingError):          # LINE is down: the answer waits
        services.event_processor().drain("Upend")
    with services.sessions.begin() as session:
        for row in session.scalars(select(Message).where(Message.delivery_status == "pending")):
            row.created_at = datetime.now(UTC) - timedelta(minutes=7)
    login(client)
    body = client.get("/inbox/api/cases").get_json()
    assert body["pending_deliveries"]["count"] >= 1 and body["pending_deliveries"]["oldest_age_s"] >= 7 * 60
    assert "7分前".encode() in client.get("/inbox/").data


def test_the_daily_retention_job_erases_set_aside_events_older_than_the_retention(services):
    from bot.jobs import run_retention_job
    from bot.pipeline.runtime import using_services
    services.dead_letters.add(_old_text_event("Uancient", "old text"), "Uancient", "RuntimeError",
                              now=time.time() - 20 * 24 * 3600)
    services.inbox.dead_letter(_old_text_event("Urecent", "new text"), "RuntimeError")
    with using_services(services):
        run_retention_job()
    assert [e.partition for e in services.dead_letters.list()] == ["Urecent"]
