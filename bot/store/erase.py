"""Deleting and exporting one user's data (the user's "delete my data", and admins in the inbox)."""
from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.store.announcements import forget_recipient
from bot.store.models import Case, CaseNote, Conversation, Message, ProcessedEvent, Question, User
from bot.store.reminders import ReminderSent, ReminderSubscription


def export_user(session: Session, line_user_id: str) -> dict | None:
    user = session.scalar(select(User).where(User.line_user_id == line_user_id))
    if user is None:
        return None
    messages = session.scalars(select(Message).where(Message.user_id == user.id).order_by(Message.id)).all()
    cases = session.scalars(select(Case).where(Case.user_id == user.id).order_by(Case.id)).all()
    notes = session.scalars(select(CaseNote).where(CaseNote.case_id.in_([c.id for c in cases]))).all() if cases else []
    iso = lambda moment: moment.isoformat() if isinstance(moment, (date, datetime)) else moment  # noqa: E731
    return {
        "user": {"line_user_id": user.line_user_id, "display_name": user.display_name, "locale": user.locale,
                 "profile_language": user.profile_language, "municipality": user.municipality,
                 "consent": user.consent, "created_at": iso(user.created_at)},
        "messages": [{"direction": m.direction, "sender": m.sender, "kind": m.kind, "text": m.text,
                      "translation": m.translation, "status": m.delivery_status,
                      "time": iso(m.created_at)} for m in messages],
        "cases": [{"id": c.id, "topic": c.topic, "priority": c.priority, "status": c.status,
                   "created_at": iso(c.created_at), "resolved_at": iso(c.resolved_at)} for c in cases],
        "notes": [{"case_id": n.case_id, "text": n.text, "time": iso(n.created_at)} for n in notes],
        "reminders": _export_reminders(session, user.id, iso),
    }


def _export_reminders(session: Session, user_id: int, iso) -> dict | None:
    """The date she gave for reminders, when she said yes, whether they are stopped, what was sent."""
    subscription = session.get(ReminderSubscription, user_id)
    if subscription is None:
        return None
    sent = session.scalars(select(ReminderSent).where(ReminderSent.user_id == user_id).order_by(ReminderSent.id)).all()
    return {"birth_date": iso(subscription.birth_date), "due_date": iso(subscription.due_date),
            "consented_at": iso(subscription.consented_at), "stopped_at": iso(subscription.stopped_at),
            "sent": [{"reminder": s.reminder_id, "for": s.occurrence, "day": iso(s.send_day)} for s in sent]}


def erase_user(session: Session, line_user_id: str, connection=None) -> dict:
    """Remove messages, notes, questions, conversation, reminders (dates, consent, sent-log) and profile;
    cases stay as anonymous counts."""
    user = session.scalar(select(User).where(User.line_user_id == line_user_id))
    set_aside = _erase_set_aside_events(connection, line_user_id)
    if user is None:
        return {"messages": 0, "cases": 0, "set_aside_events": set_aside}
    rows = session.execute(select(Message.text, Message.translation_source).where(Message.user_id == user.id)).all()
    texts = [t for row in rows for t in row if t]
    case_ids = session.scalars(select(Case.id).where(Case.user_id == user.id)).all()
    counts = {"messages": len(rows), "cases": len(case_ids), "set_aside_events": set_aside}
    if case_ids:
        session.execute(delete(CaseNote).where(CaseNote.case_id.in_(case_ids)))
        session.execute(update(Case).where(Case.id.in_(case_ids)).values(user_id=None, reason=None, user_engaged=False))
    for model in (Message, Question, Conversation, ReminderSent, ReminderSubscription):
        session.execute(delete(model).where(model.user_id == user.id))
    # Handled-event markers carry the LINE id (and reply tokens): they go too.
    session.execute(delete(ProcessedEvent).where(ProcessedEvent.partition == line_user_id))
    forget_recipient(session, line_user_id)          # announcements still waiting to go out
    session.delete(user)
    if connection is not None:
        _erase_from_redis(connection, texts)
    return counts


def _erase_set_aside_events(connection, line_user_id: str) -> int:
    """Events set aside for an operator hold the raw event: the LINE id and what was written."""
    if connection is None:
        return 0
    from bot.adapters.dead_letters import RedisDeadLetters
    return RedisDeadLetters(connection).erase_partition(line_user_id)


def _erase_from_redis(connection, texts: list[str]) -> None:
    """Translations of the user's conversation cached in Redis (keyed by a digest of the text)."""
    keys = []
    for text in texts:
        digest = hashlib.sha256(text.encode()).hexdigest()
        keys.extend(connection.scan_iter(match=f"bot:tr:*:*:{digest}"))
    if keys:
        connection.delete(*keys)
