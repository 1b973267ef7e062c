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
- Checkups: newborn home visit before 4 months; 1-month checkup at about 1 month (the
  hospital sets the day, so the bot gives the usual window of 4 to 6 weeks, open days only).

Closed days (bot/flows/office_days.py). A deadline set by a law or ordinance as a period, whose last
day falls on a day the office is closed, moves to the next open day:
- to a city or ward office (birth registration, National Health Insurance): Local Autonomy Act
  (地方自治法) art. 4-2(4), "地方公共団体の休日の翌日をもつてその期限とみなす";
- to a national office (immigration: the baby's status of residence): Act on Holidays of
  Administrative Organs (行政機関の休日に関する法律, Act No. 91 of 1988) art. 2.
The bot shows that legal last day, never calls it passed before it is over, and suggests a "go
by" day: the last open day before the original one (a night or holiday counter may take a
birth registration, but not every office has one). The child allowance's 15 days decide from
which month money is paid, not a filing deadline, so the bot does not extend it: it says the
office is closed that day and gives the open day before.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from bot.flows.office_days import is_office_closed, last_open_day_before, next_open_day

LATE_AFTER_DAYS = 60      # past this the bot hands off: the baby may already be without status


CITY, NATIONAL, NOT_EXTENDED = "city", "national", "not_extended"


@dataclass(frozen=True)
class Deadline:
    key: str              # locale key suffix: birth_registration, residence_status...
    due: date             # the last legal day (moved past closed days where the law says so)
    days_left: int        # to `due`; negative: passed
    original: date | None = None    # the day the period ends on, when `due` differs or is closed
    go_by: date | None = None       # a safer day: the last open day before `original`
    office: str | None = None       # city | national | not_extended: which rule applied

    @property
    def passed(self) -> bool:
        return self.days_left < 0

    @property
    def extended(self) -> bool:
        return self.original is not None and self.due != self.original


def office_deadline(key: str, last_day: date, office: str, today: date) -> Deadline:
    """A filing deadline at an office, moved past closed days when the law allows."""
    if not is_office_closed(last_day):
        return Deadline(key, last_day, (last_day - today).days)
    due = last_day if office == NOT_EXTENDED else next_open_day(last_day)
    go_by = last_open_day_before(last_day)
    return Deadline(key, due, (due - today).days, original=last_day,
                    go_by=go_by if go_by >= today else None, office=office)


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def birth_deadlines(birth: date, today: date) -> list[Deadline]:
    offices = [
        ("birth_registration", birth + timedelta(days=13), CITY),
        ("health_insurance", birth + timedelta(days=14), CITY),
        ("child_allowance", birth + timedelta(days=15), NOT_EXTENDED),
        ("residence_status", birth + timedelta(days=30), NATIONAL),
    ]
    deadlines = [office_deadline(key, last_day, office, today) for key, last_day, office in offices]
    checkup = add_months(birth, 1)
    deadlines.append(Deadline("one_month_checkup", checkup, (checkup - today).days))
    home_visit = add_months(birth, 4) - timedelta(days=1)
    deadlines.append(Deadline("home_visit", home_visit, (home_visit - today).days))
    return deadlines


def checkup_window(birth: date) -> tuple[date, date]:
    """Open days between 4 and 6 weeks old, when hospitals usually see a baby for the 1-month checkup."""
    return next_open_day(birth + timedelta(weeks=4)), last_open_day_before(birth + timedelta(weeks=6, days=1))


def birth_date_problem(birth: date, today: date) -> str | None:
    """'future' or 'late' when a person should look at the case instead of the checklist."""
    if birth > today:
        return "future"
    if (today - birth).days > LATE_AFTER_DAYS:
        return "late"
    return None
