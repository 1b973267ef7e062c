"""Named calculations a flow can run with a `compute` step. Pure functions of (value, today)."""
from __future__ import annotations

from datetime import date

from bot.flows.deadlines import CITY, NATIONAL, Deadline, birth_date_problem, birth_deadlines, checkup_window

# Sentences added after a deadline's status when its last day is a closed day (locales: deadline.*).
_MOVED_NOTE = {CITY: "deadline.moved_city", NATIONAL: "deadline.moved_national"}


def _status(days_left: int) -> str:
    """Which locale text describes the days left: translators write each case as a whole sentence."""
    if days_left < 0:
        return "passed"
    return {0: "today", 1: "one"}.get(days_left, "left")


def _notes(deadline: Deadline) -> list[str]:
    if deadline.original is None:
        return []
    notes = [_MOVED_NOTE.get(deadline.office or "", "deadline.closed_not_moved")]
    if deadline.go_by:
        notes.append("deadline.go_by")
    return notes


def _item(deadline: Deadline) -> dict:
    item = {"key": deadline.key, "due": deadline.due.isoformat(), "days_left": deadline.days_left,
            "days_abs": abs(deadline.days_left), "status": _status(deadline.days_left), "notes": _notes(deadline)}
    if deadline.original:
        item["original"] = deadline.original.isoformat()
    if deadline.go_by:
        item["go_by"] = deadline.go_by.isoformat()
    return item


def compute_birth_deadlines(value, today: date) -> dict:
    """Sets `birth_problem` ('' / 'future' / 'late'), `days_since_birth`, `deadlines` and the checkup window."""
    birth = value if isinstance(value, date) else date.fromisoformat(str(value))
    start, end = checkup_window(birth)
    return {"birth_problem": birth_date_problem(birth, today) or "", "days_since_birth": (today - birth).days,
            "deadlines": [_item(d) for d in birth_deadlines(birth, today)],
            "checkup_start": start.isoformat(), "checkup_end": end.isoformat()}


FUNCTIONS = {"birth_deadlines": compute_birth_deadlines}
