"""Announcement segments by stage: pregnant, or the child's age, from the dates a parent gave for
reminders (bot/store/reminders.py). Only parents whose reminders are on are counted: the dates
were given for them, and "stop reminders" means she did not ask to be told more."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, and_, or_, select

from bot.flows.deadlines import add_months
from bot.store.models import User
from bot.store.reminders import ReminderSubscription

# band id -> (youngest, oldest) age in months; "pregnant" is a due date still ahead (or just past).
AGE_BANDS: dict[str, tuple[int, int] | None] = {
    "pregnant": None,
    "0-1": (0, 12),
    "1-3": (12, 36),
    "3-6": (36, 72),
}
# A due date this many days past still counts as pregnant: births come late, and the birth date
# arrives when she answers the birth checklist.
PREGNANT_GRACE_DAYS = 14


def age_band_filter(query: Select, bands: tuple[str, ...], today: date) -> Select:
    """Narrow a query of users to the parents in any of `bands` (an unknown band: ValueError)."""
    unknown = sorted(set(bands) - set(AGE_BANDS))
    if unknown:
        raise ValueError(f"unknown age bands: {', '.join(unknown)}")
    active = select(ReminderSubscription.user_id).where(ReminderSubscription.stopped_at.is_(None))
    conditions = [_band(band, today) for band in bands]
    chosen = active.where(or_(*conditions))
    return query.where(User.id.in_(chosen))


def _band(band: str, today: date):
    months = AGE_BANDS[band]
    if months is None:
        return and_(ReminderSubscription.birth_date.is_(None),
                    ReminderSubscription.due_date >= today - timedelta(days=PREGNANT_GRACE_DAYS))
    youngest, oldest = months
    born_after = add_months(today, -oldest)          # older than `oldest` months: not in the band
    born_by = add_months(today, -youngest)
    return and_(ReminderSubscription.birth_date > born_after, ReminderSubscription.birth_date <= born_by)
