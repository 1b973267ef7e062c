"""Builds the domain services one turn needs, from settings, content and the turn's DB session.

Used by the worker (through Services) and by the offline tools (`chat`, `eval-faq`), so the
live bot and the admin's tryouts run exactly the same logic.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.orm import Session

from bot.conversation import Conversation, ConversationDeps
from bot.privacy import PrivacyDesk
from bot.settings import Settings
from bot.store.conversations import SqlConversationStore
from bot.store.questions import SqlQuestionLog


def make_domain_services(settings: Settings, session: Session, content, now: Callable[[], datetime],
                         extra: dict | None = None) -> dict:
    """`extra` carries infrastructure-backed helpers (notifier, translator) that the worker has."""
    extra = extra or {}
    cases = _optional_cases(settings, session, content, now, extra)
    answers = _optional_answers(settings, content, extra, SqlQuestionLog(session).record)
    hint = _language_hint()
    privacy = PrivacyDesk(content.catalog, extra.get("tasks"), settings.message_retention_days)
    deps = ConversationDeps(
        content=content, store=SqlConversationStore(session), now=now,
        idle=timedelta(minutes=settings.conversation_idle_minutes), municipality=settings.municipality,
        cases=cases, safety=_optional_safety(content, cases, answers, hint, privacy), answers=answers,
        language_hint=hint, privacy=privacy,
    )
    return {"conversation": Conversation(deps), "cases": cases}


def _optional_cases(settings, session, content, now, extra):
    try:
        from bot.cases.desk import CaseDesk
    except ImportError:
        return None
    return CaseDesk.build(settings, session, content, now, extra)


def _optional_safety(content, cases, answers, hint, privacy):
    try:
        from bot.safety import SafetyResponder
    except ImportError:
        return None
    if content.triage_rules is None:
        return None
    return SafetyResponder(content, cases, answers.render_entries if answers else None, hint, privacy)


def _optional_answers(settings, content, extra, record_question):
    try:
        from bot.answering import IndexAnswerer
    except ImportError:
        return None
    if content.index is None:
        return None
    return IndexAnswerer(content, settings.municipality, pivot=extra.get("pivot_translate"),
                         record_question=record_question)


def _language_hint():
    try:
        from bot.langdetect import clear_language_of
    except ImportError:
        return None
    return clear_language_of
