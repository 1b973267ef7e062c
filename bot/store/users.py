"""Users and their messages in the database."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.dialogue.messages import batches, fit_messages, message_summary
from bot.dialogue.turn import UserState
from bot.store.cases import open_or_last_resolved_case_id
from bot.store.direct import DirectInsertMany, DirectStatement
from bot.store.models import CONVERSATIONS, MESSAGES, PROCESSED_EVENTS, USERS, Message, utcnow

RETRY_KEY_NAMESPACE = uuid.UUID("6f1c2a52-8f0e-4c55-9d9e-5b3f0c1a7e21")
# The user's state columns: UserState's fields but the key and the turn's own flag.
_STATE_FIELDS = tuple(f.name for f in fields(UserState) if f.name not in ("line_user_id", "is_new"))


TURN_USER = "turn_user"        # session.info key: the user whose turn this session records

# The turn's statements, built once and run on the DBAPI cursor (bot/store/direct.py): building a
# statement (coercing its clauses, its cache key) and SQLAlchemy's execution of it each cost more
# CPU than the database's own work (issue 17).
_USER_COLUMNS = (USERS.c.id, USERS.c.line_user_id, *(USERS.c[f] for f in _STATE_FIELDS))
_USER_ROW = DirectStatement(select(*_USER_COLUMNS).where(USERS.c.line_user_id == bindparam("line_user_id")))
# Her conversation as SqlConversationStore loads it (bot/store/conversations.py).
CONVERSATION_COLUMNS = (CONVERSATIONS.c.flow_id, CONVERSATIONS.c.step_id, CONVERSATIONS.c.variables,
                        CONVERSATIONS.c.misses, CONVERSATIONS.c.updated_at)
_PROCESSED = select(PROCESSED_EVENTS.c.event_id).where(PROCESSED_EVENTS.c.event_id == bindparam("event_id"))
# The turn's first statement: whether its event was handled already, her row, her conversation (at
# most one: its key is users.id) and the case her message would go to (the desk's rule,
# bot/store/cases.py), in ONE round trip where a turn asked four queries: each statement cost
# ~0.1 ms of CPU, the largest share of a turn (issue 17).
_TURN_USER = DirectStatement(
    select(*_USER_COLUMNS, _PROCESSED.exists().label("event_handled"),
           CONVERSATIONS.c.user_id.label("conversation_user_id"),
           *(column.label(f"conversation_{column.name}") for column in CONVERSATION_COLUMNS),
           open_or_last_resolved_case_id(USERS.c.id).scalar_subquery().label("case_id"))
    .select_from(USERS.outerjoin(CONVERSATIONS, CONVERSATIONS.c.user_id == USERS.c.id))
    .where(USERS.c.line_user_id == bindparam("line_user_id")))
_NEW_USER = DirectStatement(insert(USERS).returning(USERS.c.id))
_UPDATE_USER = DirectStatement(update(USERS).where(USERS.c.id == bindparam("turn_user_id")))  # SET: the keys given
_INSERT_MESSAGES = DirectInsertMany(MESSAGES, MESSAGES.c.id)
_INSERT_PROCESSED = DirectStatement(insert(PROCESSED_EVENTS))
_WAS_PROCESSED = DirectStatement(_PROCESSED)


T = TypeVar("T")


@dataclass(frozen=True)
class ReadAhead(Generic[T]):
    """A value read with the user's row (None, where one is held, means: not read)."""
    value: T


@dataclass
class TurnUser:
    """The turn's `users` row, read and written by Core: the ORM's identity map, change tracking
    and flush cost more CPU than the two statements (issue 17). `saved` is her state as the
    database holds it; outside this module only `id` and the `take_` methods are used.

    `conversation` (her `conversations` row as a mapping, None if she has none) and `case_id`
    (bot/store/cases.py) are read with her row for the turn's first look only: the turn may
    change them, so later looks ask the database."""
    id: int
    saved: UserState
    conversation: ReadAhead[Mapping[str, Any] | None] | None = None
    case_id: ReadAhead[int | None] | None = None

    @property
    def line_user_id(self) -> str:
        return self.saved.line_user_id

    def take_conversation(self) -> ReadAhead[Mapping[str, Any] | None] | None:
        taken, self.conversation = self.conversation, None
        return taken

    def take_case_id(self) -> ReadAhead[int | None] | None:
        taken, self.case_id = self.case_id, None
        return taken


def user_of_new_event(session: Session, line_user_id: str, event_id: str) -> tuple[TurnUser, bool] | None:
    """The user of an event not handled yet (`was_processed`), read or inserted as
    `get_or_create_user` does; None when the event was handled. A known user's SELECT asks
    both at once; a new user's first event asks alone."""
    row = _turn_row(session, line_user_id, event_id)
    handled = row["event_handled"] if row is not None else was_processed(session, event_id)
    return None if handled else _found_or_inserted(session, line_user_id, row)


def get_or_create_user(session: Session, line_user_id: str) -> tuple[TurnUser, bool]:
    return _found_or_inserted(session, line_user_id, _turn_row(session, line_user_id, event_id=None))


def _turn_row(session: Session, line_user_id: str, event_id: str | None) -> dict[str, Any] | None:
    return _TURN_USER.first(session.connection(), {"line_user_id": line_user_id, "event_id": event_id})


def _found_or_inserted(session: Session, line_user_id: str, row: dict[str, Any] | None) -> tuple[TurnUser, bool]:
    is_new = row is None
    if row is not None:
        user = _turn_user(row)
    else:
        now = utcnow()
        user_id = _NEW_USER.rows(session.connection(), {
            "line_user_id": line_user_id, "locale_chosen": False, "blocked": False,
            "created_at": now, "updated_at": now})[0][0]
        user = TurnUser(id=user_id, saved=UserState(line_user_id=line_user_id),   # nothing else is hers yet
                        conversation=ReadAhead(None), case_id=ReadAhead(None))
    session.info[TURN_USER] = user       # the stores of this turn find her without another query
    return user, is_new


def _turn_user(values: dict[str, Any]) -> TurnUser:
    del values["event_handled"]
    has_conversation = values.pop("conversation_user_id") is not None
    conversation = {column.name: values.pop(f"conversation_{column.name}") for column in CONVERSATION_COLUMNS}
    return TurnUser(id=values.pop("id"), conversation=ReadAhead(conversation if has_conversation else None),
                    case_id=ReadAhead(values.pop("case_id")), saved=UserState(**values))


def _user_row(session: Session, line_user_id: str) -> TurnUser | None:
    """Her row alone, for a session that is not recording her turn (offline tools, the inbox)."""
    values = _USER_ROW.first(session.connection(), {"line_user_id": line_user_id})
    if values is None:
        return None
    return TurnUser(id=values.pop("id"), saved=UserState(**values))


def user_by_line_id(session: Session, line_user_id: str) -> TurnUser | None:
    """The turn's user from the session when it is her, else from the database."""
    known = session.info.get(TURN_USER)
    if known is not None and known.line_user_id == line_user_id:
        return known
    return _user_row(session, line_user_id)


def state_of(user: TurnUser, is_new: bool = False) -> UserState:
    return replace(user.saved, is_new=is_new)       # a copy: the handlers change it in place


def apply_state(session: Session, user: TurnUser, state: UserState) -> None:
    """Write what the turn changed of the user's state: one UPDATE of those columns (and
    `updated_at`, as the ORM's onupdate did), none when nothing changed."""
    saved = user.saved
    changes = {name: getattr(state, name) for name in _STATE_FIELDS if getattr(saved, name) != getattr(state, name)}
    if not changes:
        return
    now = utcnow()
    if state.consent is True and saved.consent is not True:
        changes["consent_at"] = now
    _UPDATE_USER.execute(session.connection(), {"turn_user_id": user.id, **changes, "updated_at": now})
    user.saved = replace(state, is_new=False)


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


def inbound_values(user_id: int, event: dict, event_id: str, keep_content: bool = True) -> dict:
    """The `messages` row of what the user sent (without text or payload when nothing may be kept)."""
    kind, text = inbound_summary(event)
    line_message_id = _mapping(event.get("message")).get("id")
    return {"user_id": user_id, "direction": "in", "sender": "user", "kind": kind,
            "text": text if keep_content else None, "payload": event if keep_content else None,
            "event_id": event_id, "line_message_id": str(line_message_id)[:64] if line_message_id else None,
            "batch_index": None, "delivery_status": None, "retry_key": None}


def outbound_values(user_id: int, messages: list[dict], *, event_id: str | None, sender: str = "bot",
                    key_seed: str | None = None) -> list[dict]:
    """The `messages` rows of the messages to send, pending, in LINE-sized batches, each batch
    with its retry key.

    The retry key is derived from the event (or `key_seed`) and the batch, so a retried job
    sends with the same key and LINE answers 409 instead of delivering twice.
    """
    rows = []
    seed = key_seed or event_id or uuid.uuid4().hex
    for batch_index, batch in enumerate(batches(fit_messages(messages))):
        retry_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{seed}:{batch_index}"))
        rows += [{"user_id": user_id, "direction": "out", "sender": sender, "kind": message.get("type", "text"),
                  "text": message_summary(message), "payload": message, "event_id": event_id,
                  "line_message_id": None, "batch_index": batch_index, "delivery_status": "pending",
                  "retry_key": retry_key} for message in batch]
    return rows


def record_outbound(session: Session, user_id: int, messages: list[dict], *, event_id: str | None,
                    sender: str = "bot", key_seed: str | None = None) -> list[Message]:
    """Store the messages to send as pending (see `outbound_values`), through the session."""
    rows = [Message(**values) for values in outbound_values(user_id, messages, event_id=event_id, sender=sender,
                                                             key_seed=key_seed)]
    session.add_all(rows)
    return rows


@dataclass
class PendingRow:
    """An outbound `messages` row the turn has just inserted, as delivery needs it (id, batch,
    status, payload, retry key): building ORM `Message` objects for rows nothing loads again cost
    more than the INSERT (issue 17)."""
    id: int
    batch_index: int | None
    delivery_status: str | None
    payload: dict | None
    retry_key: str | None


@dataclass
class HandledEvent:
    """The turn's `processed_events` row as inserted (delivery reads it; nothing is loaded)."""
    event_id: str
    event_type: str
    partition: str
    reply_token: str | None
    event_time: datetime | None
    reply_attempted: bool
    processed_at: datetime


def insert_turn_messages(session: Session, inbound: dict | None, outbound: list[dict]) -> list[PendingRow]:
    """A turn's messages in ONE `INSERT ... RETURNING id` on the session's transaction; returns
    the outbound rows (ids set) for delivery.

    Core, not the ORM's unit of work: the flush of a few new rows per turn cost more CPU than
    all of the turn's SQL (issue 17). Each row gets its own `created_at`, in order, as the
    ORM's default gave it.
    """
    values = ([inbound] if inbound else []) + outbound
    if not values:
        return []
    for row in values:
        row["created_at"] = utcnow()
    ids = _INSERT_MESSAGES.ids(session.connection(), values)
    return [PendingRow(row_id, row["batch_index"], row["delivery_status"], row["payload"], row["retry_key"])
            for row_id, row in zip(ids[len(values) - len(outbound):], outbound, strict=True)]


def was_processed(session: Session, event_id: str) -> bool:
    """Whether the worker has handled this event (its `processed_events` row is committed)."""
    return bool(_WAS_PROCESSED.rows(session.connection(), {"event_id": event_id}))


def insert_processed_event(session: Session, **values) -> HandledEvent:
    """The turn's `processed_events` row, inserted by Core like its messages."""
    values["processed_at"] = utcnow()
    _INSERT_PROCESSED.execute(session.connection(), values)
    return HandledEvent(**values)


def mark_batch(session: Session, rows: list[Message], status: str, error: str | None,
               when: datetime | None = None) -> None:
    for row in rows:
        row.delivery_status = status
        row.delivery_error = error
        if status == "sent":
            row.sent_at = when or utcnow()
