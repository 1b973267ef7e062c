"""Conversation state per user (flow, waiting step, variables, index misses) in the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.flows.engine import FlowState
from bot.store.models import Conversation, User
from bot.store.users import user_by_line_id


@dataclass
class StoredConversation:
    state: FlowState
    misses: int
    updated_at: datetime | None


class SqlConversationStore:
    def __init__(self, session: Session):
        self._session = session
        self._rows: dict[str, Conversation | None] = {}       # a turn loads, then saves: one query

    def _row(self, line_user_id: str) -> Conversation | None:
        if line_user_id not in self._rows:
            self._rows[line_user_id] = self._session.scalar(
                select(Conversation).join(User, User.id == Conversation.user_id)
                .where(User.line_user_id == line_user_id))
        return self._rows[line_user_id]

    def load(self, line_user_id: str) -> StoredConversation:
        row = self._row(line_user_id)
        if row is None:
            return StoredConversation(FlowState(), 0, None)
        updated = row.updated_at
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)       # SQLite returns naive UTC
        return StoredConversation(FlowState(row.flow_id, row.step_id, dict(row.variables or {})), row.misses or 0,
                                  updated)

    def save(self, line_user_id: str, state: FlowState, misses: int, now: datetime) -> None:
        row = self._row(line_user_id)
        if row is None:
            user = user_by_line_id(self._session, line_user_id)
            if user is None:
                raise LookupError("the turn's user is not in the database")
            row = Conversation(user_id=user.id)
            self._session.add(row)
            self._rows[line_user_id] = row
        row.flow_id, row.step_id, row.variables = state.flow_id, state.step_id, dict(state.variables)
        row.misses, row.updated_at = misses, now
