"""Conversation state per user (flow, waiting step, variables, index misses) in the database."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.flows.engine import FlowState
from bot.store.direct import DirectStatement
from bot.store.models import CONVERSATIONS
from bot.store.users import CONVERSATION_COLUMNS, TurnUser, user_by_line_id

C = CONVERSATIONS
# Built once, run on the turn's transaction by the DBAPI cursor (bot/store/direct.py): the ORM's
# load, change tracking and flush of this one row cost more CPU than its two statements (issue 17).
_LOAD = DirectStatement(select(*CONVERSATION_COLUMNS).where(C.c.user_id == bindparam("owner")))
_INSERT = DirectStatement(insert(C))
_UPDATE = DirectStatement(update(C).where(C.c.user_id == bindparam("owner")))


@dataclass
class StoredConversation:
    state: FlowState
    misses: int
    updated_at: datetime | None


class SqlConversationStore:
    def __init__(self, session: Session):
        self._session = session
        self._rows: dict[str, tuple[int, bool]] = {}       # user → (users.id, has a row): a turn loads, then saves

    def _row(self, user: TurnUser) -> Mapping[str, Any] | None:
        """Her row: read with her `users` row for the turn's first look (bot/store/users.py), else asked."""
        read = user.take_conversation()
        if read is not None:
            return read.value
        return _LOAD.first(self._session.connection(), {"owner": user.id})

    def load(self, line_user_id: str) -> StoredConversation:
        user = user_by_line_id(self._session, line_user_id)
        row = self._row(user) if user else None
        if user is not None:
            self._rows[line_user_id] = (user.id, row is not None)
        if row is None:
            return StoredConversation(FlowState(), 0, None)
        updated = row["updated_at"]
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)       # SQLite returns naive UTC
        return StoredConversation(FlowState(row["flow_id"], row["step_id"], dict(row["variables"] or {})),
                                  row["misses"] or 0, updated)

    def save(self, line_user_id: str, state: FlowState, misses: int, now: datetime) -> None:
        known = self._rows.get(line_user_id)
        if known is None:
            user = user_by_line_id(self._session, line_user_id)
            if user is None:
                raise LookupError("the turn's user is not in the database")
            user_id, exists = user.id, self._row(user) is not None
        else:
            user_id, exists = known
        values = {"flow_id": state.flow_id, "step_id": state.step_id, "variables": dict(state.variables),
                  "misses": misses, "updated_at": now}
        if exists:
            _UPDATE.execute(self._session.connection(), {"owner": user_id, **values})
        else:
            _INSERT.execute(self._session.connection(), {"user_id": user_id, **values})
        self._rows[line_user_id] = (user_id, True)
