"""Questions the index handled, kept so admins can see what to add (and for the dashboard)."""
from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.store.direct import DirectStatement
from bot.store.models import QUESTIONS, utcnow
from bot.store.users import user_by_line_id

_INSERT = DirectStatement(insert(QUESTIONS))      # built once, run on the cursor (issue 17)


class SqlQuestionLog:
    def __init__(self, session: Session):
        self._session = session

    def record(self, ctx, *, text: str | None, outcome: str, entry_id: str | None) -> None:
        user_id = None
        if ctx.user is not None:
            user = user_by_line_id(self._session, ctx.user.line_user_id)
            user_id = user.id if user else None
        consented = ctx.user is not None and getattr(ctx.user, "consent", None) is True
        # Core, on the turn's transaction: nothing reads the row back, and the ORM's flush of it
        # cost more than the INSERT (issue 17).
        _INSERT.execute(self._session.connection(), {
            "user_id": user_id, "text": (text or "")[:1000] if consented and text else None,
            "locale": ctx.locale, "outcome": outcome, "entry_id": entry_id, "created_at": utcnow()})
