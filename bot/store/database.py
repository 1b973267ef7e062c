"""Engine and session factory, and schema upgrades through Alembic."""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# A pooled connection idle longer than this is pinged before use (see `_ping_when_idle`).
PING_AFTER_IDLE_S = 5.0
_IDLE_SINCE = "idle_since"


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = create_engine(database_url, pool_size=5, max_overflow=5)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Stale connections (the server restarted, a failover, an idle timeout) are caught by a
    ping at checkout, but only for a connection idle longer than PING_AFTER_IDLE_S: a busy
    worker checks a connection out twice per event, and `pool_pre_ping` paid a round trip each
    time for connections used milliseconds before (issue 17). A connection that breaks within
    those seconds fails its statement instead: SQLAlchemy then invalidates the whole pool, the
    transaction rolls back, and the event is retried as in any database outage
    (bot/pipeline/faults.py), nothing half-written."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "connect")
    def fresh(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkin")
    def returned(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def checked_out(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) <= PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


def _sqlite_begin_immediate(connection) -> None:
    # Several workers write to one SQLite file. A transaction that reads first and writes later
    # fails at once with "database is locked" when another process committed in between (WAL
    # snapshots are not upgraded); taking the write lock at BEGIN makes it wait its turn instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling would issue a plain BEGIN first; SQLAlchemy's "begin"
    # event then issues BEGIN IMMEDIATE instead.
    dbapi_connection.isolation_level = None
    # WAL lets the web process read while a worker writes; foreign keys make deletes cascade.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def upgrade_database(database_url: str, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, revision)


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
