"""A Clock port the test moves by hand: whole days of reminders run in seconds."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.adapters.clock import ZoneClock

TOKYO = ZoneInfo("Asia/Tokyo")


class SimClock(ZoneClock):
    def __init__(self, moment: datetime):
        self.moment = moment
        super().__init__(TOKYO, lambda: self.moment)

    def at(self, day: date, hour: int = 10, minute: int = 0) -> datetime:
        """Move to `day` at hour:minute Japan time; returns the moment in UTC."""
        self.moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO).astimezone(UTC)
        return self.moment
