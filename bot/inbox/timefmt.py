"""Times as an advisor reads them: Japan time, whatever the database or the server uses."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

JAPAN = ZoneInfo("Asia/Tokyo")


def jst(moment: datetime | None, pattern: str = "%m/%d %H:%M") -> str:
    """A stored moment (naive ones are UTC, as SQLite returns them) in Japan time."""
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(JAPAN).strftime(pattern)
