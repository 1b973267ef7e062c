"""Named calculations a flow can run with a `compute` step. Pure functions of (value, today)."""
from __future__ import annotations

from datetime import date

from bot.deadlines import birth_date_problem, birth_deadlines


def _status(days_left: int) -> str:
    """Which locale text describes the days left: translators write each case as a whole sentence."""
    if days_left < 0:
        return "passed"
    return {0: "today", 1: "one"}.get(days_left, "left")


def compute_birth_deadlines(value, today: date) -> dict:
    """Sets `birth_problem` ('' / 'future' / 'late'), `days_since_birth` and `deadlines`."""
    birth = value if isinstance(value, date) else date.fromisoformat(str(value))
    deadlines = [
        {"key": d.key, "due": d.due.isoformat(), "days_left": d.days_left, "days_abs": abs(d.days_left),
         "status": _status(d.days_left)}
        for d in birth_deadlines(birth, today)
    ]
    return {"birth_problem": birth_date_problem(birth, today) or "", "days_since_birth": (today - birth).days,
            "deadlines": deadlines}


FUNCTIONS = {"birth_deadlines": compute_birth_deadlines}
