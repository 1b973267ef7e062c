"""The reminder schedule (flows/reminders.yaml): loading, checking, and when each item falls.

Pure logic: no database, no clock. `occurrence_for` answers "for this birth (or due) date, on
which Japan date is this reminder sent, and which day does it announce?"; the sweep and "my
reminders" both ask it, so what a parent is promised is what she gets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path

from bot.content.adminmsg import did_you_mean, msg
from bot.content.yamlfile import ProblemsError, YamlFileError, load_yaml_with_lines
from bot.flows.deadlines import add_months, office_deadline

SCHEDULE_FILE = "reminders.yaml"
SCHEMA_FILE = "reminders.schema.json"
BASES = ("birth", "due")


class ScheduleError(ProblemsError):
    pass


@dataclass(frozen=True)
class Offset:
    days: int = 0
    months: int = 0

    def apply(self, start: date) -> date:
        return add_months(start, self.months) + timedelta(days=self.days)


@dataclass(frozen=True)
class Reminder:
    id: str
    basis: str                       # birth | due
    after: Offset
    text: str                        # locale key
    entry: str                       # resource index entry for the "More" button
    source_url: str
    office: str | None = None        # city | national | not_extended: the closed-day rule applies
    notice_days: int = 0
    municipal: dict = field(default_factory=dict)    # slug -> {"entry", "after"}

    def entry_for(self, municipality: str | None) -> str:
        return self.municipal.get(municipality or "", {}).get("entry") or self.entry

    def after_for(self, municipality: str | None) -> Offset:
        return self.municipal.get(municipality or "", {}).get("after") or self.after


@dataclass(frozen=True)
class Occurrence:
    reminder: Reminder
    key: str                         # "birth:2026-11-10": which child (date) it is for
    day: date                        # the day it is about (a deadline after the closed-day rule)
    send_day: date                   # Japan's date it is due to be sent
    original: date | None = None     # the deadline before the closed-day rule moved it

    @property
    def last_send_day(self) -> date:
        """A deadline reminder is never sent after the deadline itself."""
        return self.day if self.reminder.office else date.max


@dataclass(frozen=True)
class Schedule:
    send_at: time
    catch_up_days: int
    quota_reserve: int
    reminders: tuple[Reminder, ...]

    def occurrence_for(self, reminder: Reminder, basis_day: date, municipality: str | None = None) -> Occurrence:
        day = reminder.after_for(municipality).apply(basis_day)
        original = None
        if reminder.office:
            deadline = office_deadline(reminder.id, day, reminder.office, day)
            original = deadline.original
            day = deadline.due
        # Notice counts back from the day the period ends on (before a move): the earlier, safer day.
        send_day = (original or day) - timedelta(days=reminder.notice_days)
        return Occurrence(reminder, f"{reminder.basis}:{basis_day.isoformat()}", day, send_day, original)

    def for_dates(self, birth: date | None, due: date | None, municipality: str | None = None) -> list[Occurrence]:
        """Every occurrence for a parent's dates, by send day. Once the birth date is known, the
        pregnancy items (counted from the due date) are no longer hers."""
        found = []
        for reminder in self.reminders:
            basis_day = birth if reminder.basis == "birth" else (due if birth is None else None)
            if basis_day is not None:
                found.append(self.occurrence_for(reminder, basis_day, municipality))
        return sorted(found, key=lambda o: (o.send_day, o.reminder.id))

    def basis_window(self, reminder: Reminder, today: date) -> tuple[date, date]:
        """Birth (or due) dates whose occurrence may be sendable today: a loose range for the
        database query (months, closed days and municipal days are settled exactly afterwards)."""
        offsets = [reminder.after, *(m["after"] for m in reminder.municipal.values() if m.get("after"))]
        spans = [o.days + o.months * 31 for o in offsets] + [o.days + o.months * 28 for o in offsets]
        earliest = today - timedelta(days=max(spans) + 10)          # + closed days (≤ 6 at New Year)
        latest = today - timedelta(days=min(spans) - reminder.notice_days - self.catch_up_days - 1)
        return earliest, latest


def load_schedule(flows_dir: Path, catalog=None, entry_ids: set[str] | None = None) -> Schedule:
    """Load and check flows/reminders.yaml; every problem reads `file:line: ...` (ScheduleError)."""
    path = flows_dir / SCHEDULE_FILE
    try:
        data, lines = load_yaml_with_lines(path)
    except YamlFileError as exc:
        raise ScheduleError([str(exc)]) from None
    from jsonschema import Draft202012Validator  # here: a worker imports this module at start, not the checker
    schema = Draft202012Validator(json.loads((flows_dir / SCHEMA_FILE).read_text(encoding="utf-8")))
    problems = [_schema_problem(path, lines, error) for error in schema.iter_errors(data or {})]
    if problems:
        raise ScheduleError(problems)
    problems = _reference_problems(path, lines, data, catalog, entry_ids)
    if problems:
        raise ScheduleError(problems)
    return _build(data)


def _build(data: dict) -> Schedule:
    hour, minute = (int(part) for part in data["send_at"].split(":"))
    reminders = tuple(
        Reminder(id=item["id"], basis=item["from"], after=Offset(**item["after"]), text=item["text"],
                 entry=item["entry"], source_url=item["source"]["url"], office=item.get("office"),
                 notice_days=item.get("notice_days", 0),
                 municipal={slug: {"entry": local.get("entry"),
                                   "after": Offset(**local["after"]) if local.get("after") else None}
                            for slug, local in (item.get("municipal") or {}).items()})
        for item in data["reminders"])
    return Schedule(time(hour, minute), data["catch_up_days"], data.get("quota_reserve", 0), reminders)


def _dotted(parts) -> str:
    dotted = ""
    for part in parts:
        dotted = f"{dotted}[{part}]" if isinstance(part, int) else (f"{dotted}.{part}" if dotted else str(part))
    return dotted


def _line(lines: dict, dotted: str) -> int:
    while dotted:
        if dotted in lines:
            return lines[dotted]
        dotted = dotted.rsplit(".", 1)[0] if "." in dotted else (dotted.rsplit("[", 1)[0] if "[" in dotted else "")
    return 1


def _schema_problem(path: Path, lines: dict, error) -> str:
    dotted = _dotted(error.absolute_path)
    return msg("reminders.schema", path=path, line=_line(lines, dotted), where=dotted or "reminders.yaml",
               error=error.message)


def _reference_problems(path: Path, lines: dict, data: dict, catalog, entry_ids: set[str] | None) -> list[str]:
    problems, seen = [], set()
    for index, item in enumerate(data["reminders"]):
        here = f"reminders[{index}]"
        if item["id"] in seen:
            problems.append(msg("reminders.duplicate_id", path=path, line=_line(lines, f"{here}.id"), id=item["id"]))
        seen.add(item["id"])
        if catalog is not None and not catalog.has("en", item["text"]):
            known = [k for k in catalog.texts.get("en", {}) if k.startswith("reminders.")]
            problems.append(msg("reminders.unknown_text", path=path, line=_line(lines, f"{here}.text"),
                                key=item["text"], hint=did_you_mean(item["text"], known)))
        entries = [(f"{here}.entry", item["entry"])]
        entries += [(f"{here}.municipal.{slug}.entry", local["entry"])
                    for slug, local in (item.get("municipal") or {}).items() if local.get("entry")]
        for where, entry in entries:
            if entry_ids is not None and entry not in entry_ids:
                problems.append(msg("reminders.unknown_entry", path=path, line=_line(lines, where), entry=entry,
                                    hint=did_you_mean(entry, entry_ids)))
        if item["from"] == "due" and item.get("office"):
            problems.append(msg("reminders.office_needs_birth", path=path, line=_line(lines, f"{here}.office")))
    return problems


def schedule_source(flows_dir: Path):
    """A loader for running code: the schedule is read again only when the file changed (an
    admin's edit applies without a restart; `flows check` has checked its texts and entries)."""
    cache: dict[tuple, Schedule] = {}

    def current() -> Schedule:
        stamp = tuple((flows_dir / name).stat().st_mtime_ns for name in (SCHEDULE_FILE, SCHEMA_FILE))
        if stamp not in cache:
            cache.clear()
            cache[stamp] = load_schedule(flows_dir)
        return cache[stamp]
    return current


def check_schedule(flows_dir: Path, catalog, entry_ids: set[str] | None) -> list[str]:
    """`flows check`: the schedule's problems as `file:line: ...` lines (none when it is fine)."""
    if not (flows_dir / SCHEDULE_FILE).exists():
        return []
    try:
        load_schedule(flows_dir, catalog, entry_ids)
    except ScheduleError as exc:
        return list(exc.problems)
    return []
