"""Japan's national holidays and the days public offices are closed.

National holidays follow the Act on National Holidays (国民の祝日に関する法律, Act No. 178 of
1948) as amended up to 2018 (Emperor's Birthday on 23 Feb from 2020; Sports Day; Mountain Day):
- art. 2: the fixed days and the "Happy Monday" days below;
- art. 3(2): a holiday on a Sunday gives the next day that is not a holiday (振替休日);
- art. 3(3): a day between two holidays is a holiday (国民の休日, e.g. 22 Sep 2026).
The equinox days are fixed each February by the Cabinet Office from the National Astronomical
Observatory's almanac; the usual formula below matches the announced days for 1980–2099.
Years 2020 and 2021 (Olympic special law) are not modelled: the bot computes deadlines from
recent births only. Checked against the Cabinet Office's list for 2025–2027 in tests.

Offices are closed on Saturdays, Sundays, national holidays and 29 Dec – 3 Jan:
- national offices (immigration): Act on Holidays of Administrative Organs (行政機関の休日に関する
  法律, Act No. 91 of 1988) art. 1(1);
- city and ward offices: Local Autonomy Act (地方自治法) art. 4-2(1)-(2), by each municipality's
  ordinance; every ordinance we know uses the same year-end days (29 Dec – 3 Jan).
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

_FIXED = ((1, 1), (2, 11), (2, 23), (4, 29), (5, 3), (5, 4), (5, 5), (8, 11), (11, 3), (11, 23))
# (month, nth Monday): Coming of Age, Marine, Respect for the Aged, Sports
_HAPPY_MONDAYS = ((1, 2), (7, 3), (9, 3), (10, 2))


def _nth_monday(year: int, month: int, nth: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 7 * (nth - 1))


def _equinox(year: int, base: float) -> int:
    return int(base + 0.242194 * (year - 1980) - (year - 1980) // 4)


def _named_holidays(year: int) -> set[date]:
    days = {date(year, month, day) for month, day in _FIXED}
    days |= {_nth_monday(year, month, nth) for month, nth in _HAPPY_MONDAYS}
    days.add(date(year, 3, _equinox(year, 20.8431)))        # Vernal Equinox Day
    days.add(date(year, 9, _equinox(year, 23.2488)))        # Autumnal Equinox Day
    return days


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[date]:
    named = _named_holidays(year)
    holidays = set(named)
    for day in sorted(named):
        if day.weekday() == 6:                               # art. 3(2): substitute holiday
            substitute = day + timedelta(days=1)
            while substitute in holidays:
                substitute += timedelta(days=1)
            holidays.add(substitute)
    for day in sorted(named):                                # art. 3(3): a day between two holidays
        between = day + timedelta(days=1)
        if between not in holidays and between + timedelta(days=1) in named and between.weekday() != 6:
            holidays.add(between)
    return frozenset(holidays)


def is_year_end(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_office_closed(day: date) -> bool:
    """Closed for national and city offices alike: weekend, national holiday, 29 Dec – 3 Jan."""
    return day.weekday() >= 5 or is_year_end(day) or day in national_holidays(day.year)


def next_open_day(day: date) -> date:
    """`day` itself when offices are open, else the first open day after it."""
    while is_office_closed(day):
        day += timedelta(days=1)
    return day


def last_open_day_before(day: date) -> date:
    """The last open day strictly before `day`."""
    day -= timedelta(days=1)
    while is_office_closed(day):
        day -= timedelta(days=1)
    return day
