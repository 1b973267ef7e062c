"""LINE's monthly message quota: read hourly, shown on the dashboard, admins warned before it ends.

Pushes (and multicasts) count per recipient against the plan's monthly limit; replies are free.
LINE's answer beyond the limit is a 429 "You have reached your monthly limit.", which no retry
fixes, so admins must hear about it early (80 %, 95 %) and once more when it happens.
The last reading is kept in Redis with the time it was read; readers older than an hour refresh.
"""
from __future__ import annotations

import calendar
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import redis

log = logging.getLogger(__name__)

JST = ZoneInfo("Asia/Tokyo")       # LINE's month, and the desk's, is Japan's
CACHE_KEY = "line:quota:last"
REFRESH_AFTER = timedelta(hours=1)
WARN_AT = (80, 95)
QUOTA_JOB_ID = "line-quota-hourly"
ALERT_TTL_S = 40 * 24 * 3600       # an alert key outlives its month, then goes


class QuotaUnavailableError(Exception):
    """LINE did not answer the quota lookup; the last known reading stays on show."""


@dataclass(frozen=True)
class QuotaReading:
    limit: int | None          # None: no target limit set on the account
    used: int


class QuotaReader(Protocol):
    def read(self) -> QuotaReading: ...


@dataclass(frozen=True)
class QuotaStatus:
    limit: int | None
    used: int
    read_at: datetime

    @property
    def percent(self) -> float | None:
        return None if not self.limit else 100.0 * self.used / self.limit

    @property
    def spent(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    def forecast(self, now: datetime) -> int:
        """Usage at month end if the month goes on as it began (Japan time)."""
        local = now.astimezone(JST)
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        days = calendar.monthrange(local.year, local.month)[1]
        elapsed = max((local - start).total_seconds(), 3600.0)    # an hour in: avoid forecasts from minutes
        return round(self.used * days * 86400 / elapsed)


class QuotaMonitor:
    def __init__(self, redis_client: redis.Redis, reader: QuotaReader, alert: Callable[[str, str], None],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._redis = redis_client
        self._reader = reader
        self._alert = alert
        self._now = now

    def status(self) -> QuotaStatus | None:
        """The last reading, refreshed when it is older than an hour; None if LINE never answered."""
        cached = self._cached()
        if cached is None or self._now() - cached.read_at >= REFRESH_AFTER:
            return self.refresh() or cached
        return cached

    def refresh(self) -> QuotaStatus | None:
        try:
            reading = self._reader.read()
        except QuotaUnavailableError as exc:
            log.warning("%s", exc)
            return None
        status = QuotaStatus(reading.limit, reading.used, self._now())
        self._redis.set(CACHE_KEY, json.dumps({**asdict(reading), "read_at": status.read_at.isoformat()}))
        self._warn_on_thresholds(status)
        return status

    def monthly_limit_reached(self) -> None:
        """Delivery got LINE's monthly-limit 429: tell admins once this month, show 100 % now."""
        first = self._first_time("limit")
        if first:
            for threshold in WARN_AT:            # the limit alert says it all: no 80 %/95 % after it
                self._first_time(f"warn{threshold}")
        self.refresh()
        if first:
            self._alert("LINE monthly message limit reached: pushes are not being sent",
                        "LINE refused a push with 429 'You have reached your monthly limit.'. Until the month "
                        "ends or the plan is raised (LINE Official Account Manager > Settings > Plan), messages "
                        "to parents outside a fresh reply are stored as 'not sent: monthly limit' and are not "
                        "retried. Replies to a parent's own message still go out for free.")

    def _warn_on_thresholds(self, status: QuotaStatus) -> None:
        percent = status.percent
        if percent is None:
            return
        for threshold in sorted(WARN_AT, reverse=True):
            if percent >= threshold:
                if self._first_time(f"warn{threshold}"):
                    self._alert(f"LINE messages: {percent:.0f}% of this month's quota used",
                                f"{status.used} of {status.limit} messages sent this month; at this pace "
                                f"{status.forecast(self._now())} by month end. Beyond the limit LINE refuses "
                                "pushes (replies stay free). "
                                "Raise the plan in LINE Official Account Manager if needed.")
                return          # one warning per reading: the highest threshold crossed

    def _first_time(self, what: str) -> bool:
        month = self._now().astimezone(JST).strftime("%Y-%m")
        return bool(self._redis.set(f"line:quota:alerted:{month}:{what}", "1", nx=True, ex=ALERT_TTL_S))

    def _cached(self) -> QuotaStatus | None:
        raw = self._redis.get(CACHE_KEY)
        if not raw:
            return None
        data = json.loads(raw)
        return QuotaStatus(data["limit"], data["used"], datetime.fromisoformat(data["read_at"]))
