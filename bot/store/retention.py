"""Retention: messages, closed cases and logged questions older than the configured period are deleted.

Runs as a daily RQ job (scheduled by the worker) and as `python -m bot retention run` for a
cron. Each run is logged in `retention_runs` with what it deleted. Translations in the Redis
cache expire by themselves after TRANSLATION_CACHE_DAYS (a Redis TTL).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CursorResult, Delete, delete, select
from sqlalchemy.orm import Session

from bot.store.models import Case, CaseNote, Message, Question, RetentionRun


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE and say how many rows it removed."""
    result = session.execute(statement)
    return result.rowcount if isinstance(result, CursorResult) else 0

RETENTION_JOB_ID = "retention-daily"


def run_retention(session: Session, now: datetime, keep_days: int) -> RetentionRun:
    cutoff = now - timedelta(days=keep_days)
    old_cases = select(Case.id).where(Case.status == "resolved", Case.resolved_at < cutoff)
    session.execute(delete(CaseNote).where(CaseNote.case_id.in_(old_cases)))
    run = RetentionRun(
        started_at=now,
        messages_deleted=_deleted(session, delete(Message).where(Message.created_at < cutoff)),
        cases_deleted=_deleted(session, delete(Case).where(Case.id.in_(old_cases.scalar_subquery()))),
        questions_deleted=_deleted(session, delete(Question).where(Question.created_at < cutoff)),
    )
    session.add(run)
    return run
