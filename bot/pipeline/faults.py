"""Telling an outage from a bad event, and waiting for a dependency to come back.

An event that fails because the database, Redis, LINE or Translation is unavailable is not at
fault: it waits, in order, and is tried again when the dependency answers. It never counts
toward setting the event aside. Only an error caused by the event itself (a bug it triggers,
content it carries) counts.
"""
from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections.abc import Callable

from sqlalchemy import exc as sa_errors

log = logging.getLogger(__name__)

DATABASE, REDIS, LINE, TRANSLATION = "database", "redis", "LINE", "translation"


class DependencyUnavailableError(Exception):
    """Raised by adapters when a dependency is down; `dependency` names it."""

    def __init__(self, dependency: str, message: str = ""):
        super().__init__(message or f"{dependency} unavailable")
        self.dependency = dependency


def dependency_of(error: BaseException | None) -> str | None:
    """The dependency whose outage caused `error` (following its causes), or None."""
    seen = 0
    while error is not None and seen < 10:
        found = _direct_dependency(error)
        if found:
            return found
        error = error.__cause__ or error.__context__
        seen += 1
    return None


def _direct_dependency(error: BaseException) -> str | None:
    if isinstance(error, DependencyUnavailableError):
        return error.dependency
    if isinstance(error, (sa_errors.OperationalError, sa_errors.InterfaceError, sa_errors.DisconnectionError,
                          sa_errors.TimeoutError)):
        return DATABASE                      # connection refused/lost, failover, "database is locked"
    if isinstance(error, sa_errors.DBAPIError) and error.connection_invalidated:
        return DATABASE
    redis = sys.modules.get("redis")    # not imported (the offline `chat`): no Redis error can occur
    if redis is not None and isinstance(error, (redis.ConnectionError, redis.TimeoutError,
                                                redis.exceptions.BusyLoadingError)):
        return REDIS
    if type(error).__name__ == "DeliveryPendingError":          # bot.pipeline.delivery: LINE 5xx/429/timeouts
        return LINE
    if type(error).__module__.startswith("google.api_core") and type(error).__name__ in {
            "DeadlineExceeded", "ServiceUnavailable", "TooManyRequests", "RetryError", "InternalServerError"}:
        return TRANSLATION
    return None


class DependencyWatch:
    """Remembers which dependency is down, so the worker stops taking jobs until it is back.

    `probes` maps a dependency to a callable that returns True when it answers again. `stop`
    is set on SIGTERM: waiting ends at once so the worker can exit.
    """

    def __init__(self, probes: dict[str, Callable[[], bool]], stop: threading.Event,
                 first_delay_s: float = 0.5, max_delay_s: float = 5.0):
        self._probes = probes
        self._stop = stop
        self._first_delay = first_delay_s
        self._max_delay = max_delay_s
        self._down: dict[str, float] = {}
        self._lock = threading.Lock()

    def note_down(self, dependency: str) -> None:
        with self._lock:
            if dependency not in self._down:
                log.error("%s is unavailable: the worker pauses its intake until it answers", dependency)
                self._down[dependency] = time.monotonic()

    def down(self) -> list[str]:
        with self._lock:
            return list(self._down)

    def wait_until_back(self, on_tick: Callable[[], None] | None = None) -> bool:
        """Block until every dependency noted down answers (True), or a stop is requested (False)."""
        delay = self._first_delay
        while self.down():
            for dependency in self.down():
                if self._answers(dependency):
                    with self._lock:
                        started = self._down.pop(dependency, time.monotonic())
                    log.warning("%s is back after %.1f s: the worker resumes", dependency, time.monotonic() - started)
            if not self.down():
                return True
            if on_tick:
                on_tick()
            if self._stop.wait(delay * (1 + random.random() / 4)):
                return False
            delay = min(delay * 2, self._max_delay)
        return True

    def _answers(self, dependency: str) -> bool:
        probe = self._probes.get(dependency)
        try:
            return probe() if probe else True
        except Exception:  # noqa: BLE001 - a probe that fails means "still down"
            return False
