"""The worker's /healthz verdict (issue 13, item 12): a stalled loop is unhealthy, an outage is not."""
from __future__ import annotations

from types import SimpleNamespace

from bot.pipeline.worker_health import STALE_AFTER_S, health_report


def services(redis_ok=True, database_ok=True, down=()):
    def probe(value):
        if isinstance(value, Exception):
            def failing():
                raise value
            return failing
        return lambda: value
    return SimpleNamespace(redis_ok=probe(redis_ok), database_ok=probe(database_ok),
                           watch=SimpleNamespace(down=lambda: list(down)))


def beats(age):
    return SimpleNamespace(age_s=lambda: age)


def test_a_recent_heartbeat_is_healthy():
    status, body = health_report(services(), beats(3.0))
    assert status == 200 and body["status"] == "ok"
    assert body["checks"] == {"worker": True, "redis": True, "database": True}


def test_a_stale_heartbeat_is_a_503_so_the_platform_restarts_the_worker():
    status, body = health_report(services(), beats(STALE_AFTER_S + 1))
    assert status == 503 and body["status"] == "stalled" and body["checks"]["worker"] is False


def test_a_dependency_outage_is_reported_but_keeps_the_worker_healthy():
    status, body = health_report(services(database_ok=ConnectionError("gone"), redis_ok=False, down=["database"]),
                                 beats(3.0))
    assert status == 200
    assert body["checks"] == {"worker": True, "redis": False, "database": False}
    assert body["waiting_for"] == ["database"]
