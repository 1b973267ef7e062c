"""How one reminder reads in a parent's language: its text with the date, and its buttons."""
from __future__ import annotations

from bot.dialogue.messages import postback_action, text_message
from bot.flows.engine import join_sentences
from bot.reminders.schedule import Occurrence

STOP_DATA = "rem:stop"
LIST_DATA = "rem:list"
# Closed-day notes already written for the birth checklist (locales: deadline.*).
_MOVED_NOTE = {"city": "deadline.moved_city", "national": "deadline.moved_national",
               "not_extended": "deadline.closed_not_moved"}


def reminder_text(catalog, locale: str, occurrence: Occurrence) -> str:
    text = catalog.text(locale, occurrence.reminder.text, date=occurrence.day.isoformat())
    office = occurrence.reminder.office
    if occurrence.original is None or office is None:
        return text
    note = catalog.text(locale, _MOVED_NOTE[office], original=occurrence.original.isoformat(),
                        due=occurrence.day.isoformat())
    return join_sentences([text, note])


def reminder_message(catalog, locale: str, occurrence: Occurrence, municipality: str | None) -> dict:
    """The reminder with "More" (the matching index entry), "My reminders" and "Stop reminders"."""
    entry = occurrence.reminder.entry_for(municipality)
    return text_message(reminder_text(catalog, locale, occurrence), quick_replies=[
        postback_action(catalog.text(locale, "reminders.more"), f"res:{entry}"),
        postback_action(catalog.text(locale, "reminders.list_button"), LIST_DATA),
        postback_action(catalog.text(locale, "reminders.stop_button"), STOP_DATA)])
