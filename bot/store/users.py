"""Users and their messages in the database."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dialogue.messages import batches, fit_messages, message_summary
from bot.dialogue.turn import UserState
from bot.store.models import Message, User, utcnow

RETRY_KEY_NAMESPACE = uuid.UUID("6f1c2a52-8f0e-4c55-9d9e-5b3f0c1a7e21")
_STATE_FIELDS = ("locale", "locale_chosen", "display_name", "profile_language", "municipality", "blocked", "consent")


TURN_USER = "turn_user"        # session.info key: the user whose turn this session records


def get_or_create_user(session: Session, line_user_id: str) -> tuple[User, bool]:
    user = session.scalar(select(User).where(User.line_user_id == line_user_id))
    is_new = user is None
    if user is None:
        user = User(line_user_id=line_user_id, locale_chosen=False, blocked=False)
        session.add(user)
        session.flush()
    session.info[TURN_USER] = user       # the stores of this turn find her without another query
    return user, is_new


def user_by_line_id(session: Session, line_user_id: str) -> User | None:
    """The turn's user from the session when it is her, else from the database."""
    known = session.info.get(TURN_USER)
    if known is not None and known.line_user_id == line_user_id:
        return known
    return session.scalar(select(User).where(User.line_user_id == line_user_id))


def state_of(user: User, is_new: bool = False) -> UserState:
    return UserState(line_user_id=user.line_user_id, is_new=is_new, **{f: getattr(user, f) for f in _STATE_FIELDS})


def apply_state(user: User, state: UserState) -> None:
    if state.consent is True and user.consent is not True:
        user.consent_at = utcnow()
    for name in _STATE_FIELDS:
        if getattr(user, name) != getattr(state, name):
            setattr(user, name, getattr(state, name))


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def inbound_summary(event: dict) -> tuple[str, str | None]:
    """(kind, text) of what the user sent, as the inbox shows it."""
    if event.get("type") == "postback":
        return "postback", str(_mapping(event.get("postback")).get("data", ""))[:300]
    message = _mapping(event.get("message"))
    kind = str(message.get("type") or event.get("type") or "event")[:20]
    if kind == "text":
        return kind, str(message.get("text", ""))[:5000]
    return kind, None


def record_inbound(session: Session, user: User, event: dict, event_id: str, keep_content: bool = True) -> Message:
    kind, text = inbound_summary(event)
    line_message_id = _mapping(event.get("message")).get("id")
    row = Message(user_id=user.id, direction="in", sender="user", kind=kind,
                  text=text if keep_content else None, payload=event if keep_content else None,
                  event_id=event_id, line_message_id=str(line_message_id)[:64] if line_message_id else None)
    session.add(row)
    return row


def record_outbound(session: Session, user_id: int, messages: list[dict], *, event_id: str | None,
                    sender: str = "bot", key_seed: str | None = None) -> list[Message]:
    """Store the messages to send as pending, in LINE-sized batches, each with its retry key.

    The retry key is derived from the event (or `key_seed`) and the batch, so a retried job
    sends with the same key and LINE answers 409 instead of delivering twice.
    """
    rows = []
    seed = key_seed or event_id or uuid.uuid4().hex
    for batch_index, batch in enumerate(batches(fit_messages(messages))):
        retry_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{seed}:{batch_index}"))
        for message in batch:
            row = Message(user_id=user_id, direction="out", sender=sender, kind=message.get("type", "text"),
                          text=message_summary(message), payload=message, event_id=event_id,
                          batch_index=batch_index, delivery_status="pending", retry_key=retry_key)
            session.add(row)
            rows.append(row)
    return rows


def mark_batch(session: Session, rows: list[Message], status: str, error: str | None,
               when: datetime | None = None) -> None:
    for row in rows:
        row.delivery_status = status
        row.delivery_error = error
        if status == "sent":
            row.sent_at = when or utcnow()
