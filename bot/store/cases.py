"""Which of a user's cases her message goes to: one rule, for the case desk and the turn's SELECT."""
from __future__ import annotations

from sqlalchemy import Select, literal_column, select
from sqlalchemy import case as sql_case
from sqlalchemy.sql.elements import ColumnElement

from bot.store.models import CASES

OPEN_STATUSES = ("waiting", "assigned", "waiting_user")
_RESOLVED = CASES.c.status == "resolved"
# The statuses as SQL literals: `in_` with values binds an "expanding" parameter, whose SQL is
# rewritten at every execution, and that cost more CPU than the rest of the turn's SELECT (issue 17).
_TAKING_STATUSES = CASES.c.status.in_([literal_column(f"'{status}'") for status in (*OPEN_STATUSES, "resolved")])


def open_or_last_resolved_case_id(owner: ColumnElement) -> Select:
    """The id of the user's open case (the newest if several), else of her latest resolved one.

    `owner` is a bound parameter (the desk's own query) or `users.id` (a correlated subquery of
    the turn's SELECT, bot/store/users.py): both must pick the same case, so both are built here.
    """
    return (select(CASES.c.id).where(CASES.c.user_id == owner, _TAKING_STATUSES)
            .order_by(_RESOLVED, sql_case((_RESOLVED, CASES.c.resolved_at)).desc(), CASES.c.id.desc()).limit(1))
