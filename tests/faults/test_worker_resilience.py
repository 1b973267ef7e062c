"""The worker process as deployed: SIGTERM, Redis restarts while idle, its health endpoint, and
the Redis persistence check at start (web and worker)."""
from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from datetime import timedelta

import pytest
from rq import Worker
from sqlalchemy import select

from bot.store.models import Message, User
from tests.conftest import make_settings
from tests.support.generated import consenting_users
from tests.support.line_events import text_event
from tests.support.processes import run_burst_worker, start_logged_worker, wait_until
from tests.support.redis_server import RedisServer, free_port


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.kill()
        worker.wait()


@pytest.mark.slow
def test_sigterm_during_a_line_outage_exits_promptly_and_loses_nothing(bot, fake_line, settings, services, tmp_path):
    fake_line.outage(120)
    event = text_event("Usigterm", "hello")
    event["timestamp"] = 1                              # push path: backoff between attempts
    worker = start_logged_worker(settings, tmp_path)
    try:
        assert bot.post(event).status_code == 200
        assert wait_until(lambda: any(c["endpoint"] == "push" for c in fake_line.state.calls), timeout=180)
        sent_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        took = time.monotonic() - sent_at
        print(f"\n[fault] SIGTERM during LINE backoff: worker exited in {took:.1f} s")
        assert took <= 10, f"the worker took {took:.1f} s to exit after SIGTERM (promised: within 10 s)"
    finally:
        _stop(worker)
    fake_line.state.outage = None
    run_burst_worker(settings)                          # the next worker sends what was pending
    assert len(fake_line.messages_to("Usigterm")) == 1


@pytest.mark.slow
def test_redis_restart_while_idle_the_scheduler_runs_jobs_again(tmp_path, fake_line, database_url, shared_content):
    from bot.services import build_services
    server = RedisServer(tmp_path / "aof", appendonly=True).start()
    settings = make_settings(tmp_path, server.url, fake_line.url, database_url)
    services = build_services(settings, content=shared_content)
    consenting_users(services.sessions, ["Usched"])
    worker = start_logged_worker(settings, tmp_path, SWEEP_MIN_AGE_S=600)      # only the scheduler may send it
    try:
        assert wait_until(lambda: Worker.count(connection=services.redis) >= 1, timeout=180)
        time.sleep(3)                                    # idle, scheduler started
        server.kill()
        time.sleep(3)
        server.start()
        services.redis.connection_pool.disconnect()
        time.sleep(2)
        with services.sessions.begin() as session:
            user = session.scalar(select(User).where(User.line_user_id == "Usched"))
            row = Message(user_id=user.id, direction="out", sender="advisor", kind="text", text="hello",
                          payload={"type": "text", "text": "hello"}, delivery_status="pending",
                          retry_key="5b0c1a7e-0000-4000-8000-000000000001")
            session.add(row)
        services.tasks.enqueue_in(timedelta(seconds=1), "bot.jobs.deliver_messages", [row.id])
        assert wait_until(lambda: len(fake_line.messages_to("Usched")) == 1, timeout=45)
        assert worker.poll() is None
    finally:
        _stop(worker)
        server.stop()


@pytest.mark.slow
def test_worker_exits_non_zero_when_redis_stays_away(tmp_path, fake_line, database_url):
    server = RedisServer(tmp_path / "gone").start()
    settings = make_settings(tmp_path, server.url, fake_line.url, database_url)
    worker = start_logged_worker(settings, tmp_path, WORKER_REDIS_WAIT_S=3)
    try:
        assert wait_until(lambda: Worker.count(connection=server.client()) >= 1, timeout=180)   # it was working
        server.kill()
        assert worker.wait(timeout=60) == 1
    finally:
        _stop(worker)


@pytest.mark.slow
def test_worker_serves_its_health_on_port(settings, tmp_path, services):
    port = free_port()
    worker = start_logged_worker(settings, tmp_path, PORT=port)
    try:
        def health():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    return response.status, json.loads(response.read())
            except OSError:
                return None
        assert wait_until(lambda: health() is not None, timeout=180)
        status, body = health()
        assert status == 200
        assert body["checks"] == {"worker": True, "redis": True, "database": True}
        assert body["heartbeat_age_s"] >= 0
    finally:
        _stop(worker)


def test_persistence_check_refuses_without_aof_when_configured(tmp_path, redis_server, fake_line, database_url):
    from bot.adapters.redis_persistence import RedisPersistenceError
    from bot.app import create_app
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, redis_persistence_check="refuse")
    with pytest.raises(RedisPersistenceError, match="appendonly"):
        create_app(settings)
    warn = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, redis_persistence_check="warn")
    assert create_app(warn) is not None


def test_persistence_check_passes_with_aof_and_tolerates_managed_redis(tmp_path, fake_line, database_url):
    from bot.adapters.redis_persistence import check_redis_persistence
    from bot.app import create_app
    aof = RedisServer(tmp_path / "aof", appendonly=True).start()
    managed = RedisServer(tmp_path / "managed", extra_args=("--rename-command", "CONFIG", "")).start()
    try:
        assert check_redis_persistence(aof.client(), "refuse", "test") is True
        assert create_app(make_settings(tmp_path, aof.url, fake_line.url, database_url,
                                        redis_persistence_check="refuse")) is not None
        assert check_redis_persistence(managed.client(), "refuse", "test") is None   # cannot tell: warns, starts
    finally:
        aof.stop()
        managed.stop()


@pytest.mark.slow
def test_worker_refuses_to_start_without_aof_when_configured(settings, tmp_path):
    worker = start_logged_worker(settings, tmp_path, REDIS_PERSISTENCE_CHECK="refuse")
    try:
        assert worker.wait(timeout=180) == 1
    finally:
        _stop(worker)


def test_any_job_failing_on_a_database_outage_pauses_the_worker(services, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    import bot.jobs
    from bot.pipeline.worker import run_worker

    def database_gone(*args):
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(bot.jobs, "notify_advisors", database_gone)
    services.tasks.enqueue("bot.jobs.notify_advisors", 1, "new")
    with caplog.at_level("WARNING"):
        run_worker(services, burst=True)
    assert "database is unavailable: the worker pauses its intake" in caplog.text
    assert "database is back" in caplog.text
