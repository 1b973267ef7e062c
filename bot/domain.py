"""Builds the domain services one turn needs, from settings, content and the turn's DB session.

Used by the worker (through Services) and by the offline tools (`chat`), so the live bot and an
admin's tryout run exactly the same logic.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from bot.answering import IndexAnswerer
from bot.cases.desk import CaseDesk
from bot.conversation import Conversation, ConversationDeps
from bot.langdetect import clear_language_of
from bot.ports import Clock
from bot.privacy import PrivacyDesk
from bot.safety import SafetyResponder
from bot.settings import Settings
from bot.store.conversations import SqlConversationStore
from bot.store.questions import SqlQuestionLog


def make_domain_services(settings: Settings, session: Session, content, clock: Clock,
                         extra: dict | None = None, user=None) -> dict:
    """`extra` carries infrastructure-backed helpers the worker has (the task queue); `user` is the
    turn's user, so every answer (safety hotlines too) shows the offices of their municipality.

    `clock` gives UTC for storage and Japan's date for everything a person reads.
    """
    now = clock.now
    tasks = (extra or {}).get("tasks")
    pivot = _pivot_through((extra or {}).get("translator"))
    cases = CaseDesk(session, content.desk_hours, now, tasks, (extra or {}).get("live"))
    answers = IndexAnswerer(content, settings.municipality, pivot=pivot, record_question=SqlQuestionLog(session).record,
                            user=user)
    privacy = PrivacyDesk(content.catalog, tasks, settings.message_retention_days)
    safety = SafetyResponder(content, cases, answers.render_entries, clear_language_of, privacy, now=now,
                             municipality=settings.municipality)
    deps = ConversationDeps(
        content=content, store=SqlConversationStore(session), now=now, clock=clock,
        idle=timedelta(minutes=settings.conversation_idle_minutes), municipality=settings.municipality,
        cases=cases, safety=safety, answers=answers, language_hint=clear_language_of, privacy=privacy,
        municipalities=content.municipalities,
    )
    return {"conversation": Conversation(deps), "cases": cases}


def _pivot_through(translator):
    """English text of a question, for a second search; None without a real translator."""
    if translator is None or not getattr(translator, "translates", False):
        return None

    def pivot(text: str, locale: str) -> str | None:
        if locale == "en":
            return None
        result = translator.translate(text, target="en", source=None)
        return result.text if result.translated else None
    return pivot
