"""The turn's statements on the DBAPI cursor (bot/store/direct.py), on SQLite and PostgreSQL:
values come back as the column types give them, many rows get their own ids in order, and a
database error is SQLAlchemy's, as bot/pipeline/faults.py expects."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import exc, select, text

from bot.flows.engine import FlowState
from bot.pipeline.faults import dependency_of
from bot.store.conversations import SqlConversationStore
from bot.store.database import make_engine, make_session_factory, upgrade_database
from bot.store.models import MESSAGES
from bot.store.users import (
    apply_state,
    get_or_create_user,
    insert_processed_event,
    insert_turn_messages,
    outbound_values,
    state_of,
    user_of_new_event,
    was_processed,
)
from tests.support.databases import drop_database, scratch_database_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sessions(request, database_url):
    if request.param == "sqlite":
        engine = make_engine(database_url)
        yield make_session_factory(engine)
        engine.dispose()
        return
    request.getfixturevalue("postgres_database")
    url = scratch_database_url("direct")
    upgrade_database(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()
    drop_database(url)


def test_a_users_state_and_conversation_come_back_with_their_types(sessions):
    with sessions.begin() as session:
        user, is_new = get_or_create_user(session, "Uone")
        state = state_of(user, is_new)
        state.locale, state.locale_chosen, state.consent = "vi", True, True
        apply_state(session, user, state)
        SqlConversationStore(session).save("Uone", FlowState("visa", "ask", {"kids": [1, 2], "tên": "Lan"}), 2,
                                           datetime(2026, 12, 6, 15, 0, tzinfo=UTC))
    assert is_new
    with sessions.begin() as session:
        found = user_of_new_event(session, "Uone", "event-1")
        assert found is not None
        again, is_new = found
        stored = SqlConversationStore(session).load("Uone")
    assert not is_new and again.id == user.id
    assert again.saved.locale == "vi" and again.saved.locale_chosen is True and again.saved.consent is True
    assert again.saved.blocked is False
    assert stored.state == FlowState("visa", "ask", {"kids": [1, 2], "tên": "Lan"}) and stored.misses == 2
    assert stored.updated_at == datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def test_many_messages_get_their_own_ids_in_order(sessions):
    messages = [{"type": "text", "text": f"answer {i} — câu trả lời"} for i in range(5)]
    with sessions.begin() as session:
        user, _ = get_or_create_user(session, "Utwo")
        inbound = {"user_id": user.id, "direction": "in", "sender": "user", "kind": "text", "text": "hi",
                   "payload": {"type": "message"}, "event_id": "e2", "line_message_id": None, "batch_index": None,
                   "delivery_status": None, "retry_key": None}
        pending = insert_turn_messages(session, inbound, outbound_values(user.id, messages, event_id="e2"))
    with sessions() as session:
        stored = dict(session.execute(select(MESSAGES.c.id, MESSAGES.c.payload)
                                      .where(MESSAGES.c.direction == "out")).all())
    assert [row.payload for row in pending] == messages
    assert all(stored[row.id] == row.payload for row in pending)


def test_an_event_is_handled_once_and_a_repeat_is_an_integrity_error(sessions):
    values = {"event_id": "e3", "event_type": "message", "partition": "Uthree", "reply_token": None,
              "event_time": datetime(2026, 12, 6, tzinfo=UTC), "reply_attempted": False}
    with sessions.begin() as session:
        assert not was_processed(session, "e3")
        insert_processed_event(session, **values)
    with sessions.begin() as session:
        assert was_processed(session, "e3")
        assert user_of_new_event(session, "Uthree", "e3") is None          # her row is new, the event is not
    with pytest.raises(exc.IntegrityError), sessions.begin() as session:
        insert_processed_event(session, **values)


@pytest.mark.postgres
def test_a_lost_connection_is_a_database_outage_and_the_pool_recovers(request):
    request.getfixturevalue("postgres_database")
    url = scratch_database_url("lost")
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as session:
            get_or_create_user(session, "Ufour")
        with pytest.raises(exc.OperationalError) as raised, sessions.begin() as session:
            pid = session.connection().execute(text("SELECT pg_backend_pid()")).scalar()
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            user_of_new_event(session, "Ufour", "e4")
        assert raised.value.connection_invalidated
        assert dependency_of(raised.value) == "database"
        with sessions.begin() as session:
            assert user_of_new_event(session, "Ufour", "e4") is not None
    finally:
        engine.dispose()
        drop_database(url)


def test_a_statement_alone_is_committed_and_the_connection_goes_back_as_it_came(sessions):
    from bot.pipeline.delivery import _mark_batch
    from bot.store.direct import execute_alone
    with sessions.begin() as session:
        user, _ = get_or_create_user(session, "Ufive")
        pending = insert_turn_messages(session, None, outbound_values(user.id, [{"type": "text", "text": "a"},
                                                                               {"type": "text", "text": "b"}],
                                                                      event_id="e5"))
    engine = sessions.kw["bind"]
    execute_alone(engine, _mark_batch(2), {"id0": pending[0].id, "id1": pending[1].id,
                                           "delivery_status": "sent", "delivery_error": None})
    with engine.connect() as connection:
        statuses = connection.execute(select(MESSAGES.c.delivery_status)).scalars().all()
        autocommit = getattr(connection.connection.dbapi_connection, "autocommit", False)
    assert statuses == ["sent", "sent"]
    assert autocommit is False or engine.dialect.name == "sqlite"
    with pytest.raises(exc.IntegrityError):                  # a failing statement raises SQLAlchemy's error
        execute_alone(engine, _mark_batch(1), {"id0": pending[0].id, "user_id": 10**9})
