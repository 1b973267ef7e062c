"""Deadlines after a birth in Japan, computed from the baby's date of birth.

Sources (see shared/content/facts_sources.md and resources/entries/national.yaml):
- Birth notification (出生届): within 14 days counting the day of birth (Family Register Act
  art. 43), so the last day is birth + 13 days.
- Baby's status of residence (在留資格取得許可申請): within 30 days from the birth; the day
  of birth is not counted (Civil Code art. 140), so the last day is birth + 30 days. Not
  needed if the family leaves Japan within 60 days without a re-entry permit.
- Child allowance (児童手当): apply within 15 days from the day after the birth, so birth + 15;
  payments are not back-dated.
- Health insurance: as early as possible; National Health Insurance asks for 14 days after the
  change, birth + 14.
- Checkups: newborn home visit before 4 months; 1-month checkup at about 1 month.
A date that falls on a weekend or holiday is shown as is: offices may accept the next open
day, but the bot never promises that.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

LATE_AFTER_DAYS = 60      # past this the bot hands off: the baby may already be without status


@dataclass(frozen=True)
class Deadline:
    key: str              # locale key suffix: birth_registration, residence_status...
    due: date
    days_left: int        # negative: passed

    @property
    def passed(self) -> bool:
        return self.days_left < 0


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def birth_deadlines(birth: date, today: date) -> list[Deadline]:
    dues = [
        ("birth_registration", birth + timedelta(days=13)),
        ("health_insurance", birth + timedelta(days=14)),
        ("child_allowance", birth + timedelta(days=15)),
        ("residence_status", birth + timedelta(days=30)),
        ("one_month_checkup", add_months(birth, 1)),
        ("home_visit", add_months(birth, 4) - timedelta(days=1)),
    ]
    return [Deadline(key, due, (due - today).days) for key, due in dues]


def birth_date_problem(birth: date, today: date) -> str | None:
    """'future' or 'late' when a person should look at the case instead of the checklist."""
    if birth > today:
        return "future"
    if (today - birth).days > LATE_AFTER_DAYS:
        return "late"
    return None
