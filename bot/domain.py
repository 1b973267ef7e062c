"""Builds the domain services one turn needs, from settings, content and the turn's DB session.

Used by the worker (through Services) and by the offline tools (`chat`), so the live bot and an
admin's tryout run exactly the same logic.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy.orm import Session

from bot.cases.desk import CaseDesk
from bot.content.langdetect import clear_language_of
from bot.dialogue.answering import IndexAnswerer
from bot.dialogue.conversation import Conversation, ConversationDeps
from bot.dialogue.privacy import PrivacyDesk
from bot.dialogue.routing import TurnTranslation, assess_message
from bot.dialogue.safety import SafetyResponder
from bot.dialogue.turn import TurnServices, UserState
from bot.ports import Classifier, Clock, LiveFeed, TaskQueue, Translator
from bot.reminders.desk import ReminderDesk
from bot.reminders.schedule import Schedule, schedule_source
from bot.settings import Settings
from bot.store.conversations import SqlConversationStore
from bot.store.questions import SqlQuestionLog

if TYPE_CHECKING:
    from bot.content.registry import Content


class DomainExtras(TypedDict, total=False):
    """What the composition root builds once and every turn shares (absent: that part is off)."""
    tasks: TaskQueue
    translator: Translator
    pivot_translator: Translator          # the safety net's and the search's English, with a short timeout
    classifier: Classifier | None
    live: LiveFeed
    reminder_schedule: Callable[[], Schedule]   # flows/reminders.yaml, loaded once per worker


def make_domain_services(settings: Settings, session: Session, content: Content, clock: Clock,
                         extra: DomainExtras | None = None, user: UserState | None = None) -> TurnServices:
    """`extra` carries what the composition root built once: the task queue, the translators, the
    classifier and the inbox's live feed (bot/services.py); `user` is the turn's user, so every
    answer (safety hotlines too) shows the offices of their municipality.

    `clock` gives UTC for storage and Japan's date for everything a person reads.
    """
    now = clock.now
    extra = extra or DomainExtras()
    tasks = extra.get("tasks")
    classifier = extra.get("classifier")
    translation = _turn_translation(extra.get("pivot_translator") or extra.get("translator"))
    cases = CaseDesk(session, content.desk_hours, now, tasks, extra.get("live"))
    answers = IndexAnswerer(content, settings.municipality, pivot=_pivot_through(translation),
                            record_question=SqlQuestionLog(session).record, user=user, classifier=classifier)
    privacy = PrivacyDesk(content.catalog, tasks, settings.message_retention_days)

    def assess(text: str):
        return assess_message(text, content.triage_rules, classifier,
                              translation.english if translation else None, clear_language_of)
    safety = SafetyResponder(content, cases, answers.render_entries, clear_language_of, privacy, now=now,
                             municipality=settings.municipality, assess=assess)
    deps = ConversationDeps(
        content=content, store=SqlConversationStore(session), now=now, clock=clock,
        idle=timedelta(minutes=settings.conversation_idle_minutes), municipality=settings.municipality,
        cases=cases, safety=safety, answers=answers, language_hint=clear_language_of, privacy=privacy,
        municipalities=content.municipalities,
    )
    reminders = ReminderDesk(session, clock, _reminder_schedule(settings, extra), settings.municipality)
    return TurnServices(conversation=Conversation(deps), cases=cases, reminders=reminders)


def _reminder_schedule(settings: Settings, extra: DomainExtras):
    """The worker's cached schedule loader; offline tools (`chat`) load their own."""
    return extra.get("reminder_schedule") or schedule_source(settings.flows_dir)


def _turn_translation(translator: Translator | None) -> TurnTranslation | None:
    """One translation per message for this turn; None without a real translator."""
    if translator is None or not getattr(translator, "translates", False):
        return None
    return TurnTranslation(translator)


def _pivot_through(translation: TurnTranslation | None):
    """English text of a question, for a second search (the same request the safety net made)."""
    if translation is None:
        return None

    def pivot(text: str, locale: str) -> str | None:
        return None if locale == "en" else translation.english(text)
    return pivot
