"""Business hours of the advisors' desk: per weekday, with holidays, in Japan time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.content.yamlfile import ProblemsError, YamlFileError, load_yaml_with_lines

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DeskConfigError(ProblemsError):
    pass


@dataclass(frozen=True)
class DeskHours:
    zone: ZoneInfo
    weekly: dict[int, tuple[tuple[time, time], ...]]
    closed: frozenset[date]
    expected_wait_minutes: dict[str, int]
    escalate_urgent_after: timedelta
    reopen_within: timedelta

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        if local.date() in self.closed:
            return False
        return any(start <= local.time() < end for start, end in self.weekly.get(local.weekday(), ()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The start of the next open period after `moment` (within 60 days), in Japan time."""
        local = moment.astimezone(self.zone)
        for offset in range(60):
            day = local.date() + timedelta(days=offset)
            if day in self.closed:
                continue
            for start, _ in self.weekly.get(day.weekday(), ()):
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None


def load_desk_hours(path: Path) -> DeskHours:
    try:
        data, lines = load_yaml_with_lines(path)
    except YamlFileError as exc:
        raise DeskConfigError([str(exc)]) from None
    problems: list[str] = []
    data = data if isinstance(data, dict) else {}
    weekly = {}
    for index, name in enumerate(WEEKDAYS):
        periods = []
        for text in (data.get("weekly") or {}).get(name, []) or []:
            period = _period(str(text))
            if period is None:
                problems.append(f"{path}:{lines.get(f'weekly.{name}', 1)}: '{text}' is not a time range; "
                                'write it like "09:00-17:00"')
            else:
                periods.append(period)
        weekly[index] = tuple(periods)
    closed = set()
    for i, value in enumerate(data.get("closed") or []):
        try:
            closed.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            problems.append(f"{path}:{lines.get(f'closed[{i}]', 1)}: '{value}' is not a date; write it like 2026-12-29")
    try:
        zone = ZoneInfo(str(data.get("timezone", "Asia/Tokyo")))
    except Exception:  # noqa: BLE001 - zoneinfo raises several kinds
        problems.append(f"{path}:{lines.get('timezone', 1)}: unknown time zone; use Asia/Tokyo")
        zone = ZoneInfo("Asia/Tokyo")
    if problems:
        raise DeskConfigError(problems)
    waits = {k: int(v) for k, v in (data.get("expected_wait_minutes") or {}).items()}
    return DeskHours(zone, weekly, frozenset(closed), {"urgent": 10, "high": 30, "normal": 120, **waits},
                     timedelta(minutes=int(data.get("escalate_urgent_after_minutes", 5))),
                     timedelta(hours=int(data.get("reopen_within_hours", 72))))


def _period(text: str) -> tuple[time, time] | None:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
    except ValueError:
        return None
    return (start, end) if start < end else None
