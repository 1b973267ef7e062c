"""The advisors' side of cases: the queue, atomic claiming, and every change of a case."""
from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from bot.cases.desk import OPEN_STATUSES, PRIORITY_RANK, TOPICS
from bot.store.models import Advisor, AuditEntry, Case, CaseNote

STATUSES = ("waiting", "assigned", "waiting_user", "resolved")


class CaseError(Exception):
    """A change that is not possible now (already claimed, unknown value...); the message says why."""


def queue(session: Session, *, status: str | None = None, priority: str | None = None, locale: str | None = None,
          topic: str | None = None, advisor_id: int | None = None, unassigned: bool = False,
          include_resolved: bool = False, limit: int = 200) -> list[Case]:
    """Open cases, most urgent first, then the longest waiting."""
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    elif not include_resolved:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    for column, value in ((Case.priority, priority), (Case.locale, locale), (Case.topic, topic)):
        if value:
            query = query.where(column == value)
    if advisor_id:
        query = query.where(Case.assigned_advisor_id == advisor_id)
    if unassigned:
        query = query.where(Case.assigned_advisor_id.is_(None))
    return list(session.scalars(query.order_by(Case.priority_rank, Case.created_at).limit(limit)))


def audit(session: Session, advisor_id: int | None, action: str, target: str | None, **detail) -> None:
    session.add(AuditEntry(advisor_id=advisor_id, action=action, target=target, detail=detail or None))


def claim(session: Session, case_id: int, advisor_id: int, now: datetime) -> bool:
    """Exactly one of several advisors claiming at once gets the case (one conditional UPDATE)."""
    result = session.execute(
        update(Case)
        .where(Case.id == case_id, Case.assigned_advisor_id.is_(None), Case.status.in_(OPEN_STATUSES))
        .values(assigned_advisor_id=advisor_id, status="assigned", updated_at=now)
        .execution_options(synchronize_session=False))
    claimed = cast(CursorResult, result).rowcount == 1
    if claimed:
        audit(session, advisor_id, "case.claim", f"case:{case_id}")
    return claimed


def release(session: Session, case: Case, advisor_id: int, now: datetime) -> None:
    case.assigned_advisor_id, case.status, case.updated_at = None, "waiting", now
    audit(session, advisor_id, "case.release", f"case:{case.id}")


class UnknownAdvisorError(CaseError):
    """No account with that id: the form was tampered with or the account was removed."""


def transfer(session: Session, case: Case, from_advisor: int, to_advisor: int, now: datetime) -> None:
    if case.status == "resolved":
        raise CaseError("a resolved case cannot be transferred; reopen it first")
    target = session.get(Advisor, to_advisor)
    if target is None:
        raise UnknownAdvisorError(f"no advisor with id {to_advisor}")
    if not target.active:
        raise CaseError("that advisor's account is deactivated: choose another advisor")
    case.assigned_advisor_id, case.status, case.updated_at = to_advisor, "assigned", now
    audit(session, from_advisor, "case.transfer", f"case:{case.id}", to_advisor=to_advisor)


def set_priority(session: Session, case: Case, priority: str, advisor_id: int) -> None:
    if priority not in PRIORITY_RANK:
        raise CaseError(f"priority must be one of {', '.join(PRIORITY_RANK)}")
    audit(session, advisor_id, "case.priority", f"case:{case.id}", before=case.priority, after=priority)
    case.priority, case.priority_rank = priority, PRIORITY_RANK[priority]


def set_topic(session: Session, case: Case, topic: str, advisor_id: int) -> None:
    if topic not in TOPICS:
        raise CaseError(f"topic must be one of {', '.join(TOPICS)}")
    audit(session, advisor_id, "case.topic", f"case:{case.id}", before=case.topic, after=topic)
    case.topic = topic


def resolve(session: Session, case: Case, advisor_id: int, now: datetime) -> None:
    case.status, case.resolved_at, case.updated_at = "resolved", now, now
    audit(session, advisor_id, "case.resolve", f"case:{case.id}")


def reopen(session: Session, case: Case, advisor_id: int, now: datetime) -> None:
    case.status = "assigned" if case.assigned_advisor_id else "waiting"
    case.resolved_at, case.updated_at, case.user_engaged = None, now, True
    audit(session, advisor_id, "case.reopen", f"case:{case.id}")


def record_advisor_reply(case: Case, now: datetime) -> None:
    """After an advisor's message went out: the first response time, and now the user's turn."""
    if case.first_response_at is None:
        case.first_response_at = now
    case.status, case.updated_at = "waiting_user", now


def add_note(session: Session, case: Case, advisor_id: int, text: str) -> CaseNote:
    if not text.strip():
        raise CaseError("the note is empty")
    note = CaseNote(case_id=case.id, advisor_id=advisor_id, text=text.strip()[:5000])
    session.add(note)
    audit(session, advisor_id, "case.note", f"case:{case.id}")
    return note


def waiting_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Case.priority, Case.id).where(
        and_(Case.status.in_(OPEN_STATUSES), or_(Case.assigned_advisor_id.is_(None), Case.status == "waiting"))))
    counts = {"urgent": 0, "high": 0, "normal": 0}
    for priority, _ in rows:
        counts[priority] = counts.get(priority, 0) + 1
    return counts
