"""Transcripts per locale: no silence after asking for a person.

In an open case a short acknowledgement (at most one per 10 minutes, with the opening time out of
hours); a question the index answers is answered even after a case was resolved, and the case
reopens for its advisor with an acknowledgement.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import LOCALES
from bot.adapters.clock import fixed_clock
from bot.cases import queue as case_queue
from bot.store.models import Case, Message

TOKYO = ZoneInfo("Asia/Tokyo")
TUESDAY_MORNING = datetime(2026, 12, 8, 10, 0, tzinfo=TOKYO)     # the desk is open (flows/desk/hours.yaml)
SUNDAY_MORNING = datetime(2026, 12, 6, 10, 0, tzinfo=TOKYO)      # closed; opens Monday 7 December at 09:00


def t(services, locale: str, key: str, **values) -> str:
    return services.content.current().catalog.text(locale, key, **values)


def ask_for_a_person(bot, services, user: str, locale: str, moment: datetime) -> None:
    services.clock = fixed_clock(moment)
    bot.follow(user, language=locale)
    bot.tap(user, "cmd:person")


@pytest.mark.parametrize("locale", LOCALES)
def test_open_case_acknowledges_at_most_every_ten_minutes(bot, services, locale):
    user = f"Uack-{locale}"
    ask_for_a_person(bot, services, user, locale, TUESDAY_MORNING)
    first = bot.say(user, "xq")
    assert first == [t(services, locale, "desk.ack") + "\n\n" + t(services, locale, "desk.hours_open")]
    assert bot.say(user, "xq xq") == []                                  # 1 minute later: no repeat
    services.clock = fixed_clock(TUESDAY_MORNING + timedelta(minutes=11))
    assert bot.say(user, "xq xq xq") == first
    with services.sessions() as session:
        case = session.scalar(select(Case))
        texts = session.scalars(select(Message.text).where(Message.direction == "in", Message.kind == "text")).all()
    assert case.status == "waiting" and {"xq", "xq xq", "xq xq xq"} <= set(texts)   # the advisor sees all


@pytest.mark.parametrize("locale", LOCALES)
def test_out_of_hours_acknowledgement_says_when_the_desk_opens(bot, services, locale):
    user = f"Uack-night-{locale}"
    ask_for_a_person(bot, services, user, locale, SUNDAY_MORNING)
    ack = bot.say(user, "xq")
    closed = t(services, locale, "desk.hours_closed", opens_day="2026-12-07", opens_time="09:00")
    assert ack == [t(services, locale, "desk.ack") + "\n\n" + closed]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_question_after_a_resolved_case_is_answered_and_reopens_it(bot, services, locale):
    user = f"Uresolved-{locale}"
    ask_for_a_person(bot, services, user, locale, TUESDAY_MORNING)
    with services.sessions.begin() as session:
        case = session.scalar(select(Case))
        case_queue.resolve(session, case, None, TUESDAY_MORNING)
    services.clock = fixed_clock(TUESDAY_MORNING + timedelta(hours=30))      # within the 72-hour window
    question = services.content.current().index.text("child-allowance", locale).title
    replies = bot.say(user, question)
    answer = services.content.current().index.text("child-allowance", locale).title
    assert any(answer in text for text in replies[:-1]), replies          # the index answers at once
    assert replies[-1] == t(services, locale, "desk.reopened") + "\n\n" + t(services, locale, "desk.hours_open")
    with services.sessions() as session:
        case = session.scalar(select(Case))
    assert case.status == "waiting" and case.resolved_at is None


@pytest.mark.parametrize("locale, chat", [("en", "thank you"), ("en", "ok I will wait"), ("vi", "cảm ơn"),
                                          ("ja", "はい"), ("en", "one more thing")])
def test_chit_chat_in_an_open_case_gets_no_index_entry(bot, services, locale, chat):
    user = f"Uchat-{locale}-{len(chat)}"
    ask_for_a_person(bot, services, user, locale, TUESDAY_MORNING)
    assert bot.say(user, chat) == [t(services, locale, "desk.ack") + "\n\n" + t(services, locale, "desk.hours_open")]


def test_a_real_question_in_an_open_case_is_answered_too(bot, services):
    ask_for_a_person(bot, services, "Uquestion", "en", TUESDAY_MORNING)
    replies = bot.say("Uquestion", "how do I apply for child allowance")
    assert replies[0].startswith("■ ") and "llowance" in replies[0]
    assert replies[-1].startswith(t(services, "en", "desk.ack"))
