"""The one clock: UTC for storage, a configured time zone (Asia/Tokyo) for what people see.

Without it, "today" on a server in UTC is yesterday in Japan between 00:00 and 08:59: a baby
born this morning would be "born in the future". Tests inject `source` to run a turn at any
moment; production reads the system clock (so `faketime` works for a CLI check).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Tokyo"


def system_now() -> datetime:
    return datetime.now(UTC)


class ZoneClock:
    def __init__(self, zone: str | ZoneInfo = DEFAULT_ZONE, source: Callable[[], datetime] = system_now):
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._source = source

    def now(self) -> datetime:
        return as_utc(self._source())

    def today(self) -> date:
        return self.local(self.now()).date()

    def local(self, moment: datetime) -> datetime:
        return as_utc(moment).astimezone(self.zone)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC here (SQLite drops the offset); aware ones are converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def fixed_clock(moment: datetime, zone: str | ZoneInfo = DEFAULT_ZONE) -> ZoneClock:
    """A clock stopped at `moment` (tests, `chat --at`)."""
    return ZoneClock(zone, lambda: moment)
