"""PostgreSQL for tests: one database per pytest-xdist worker, and a private database per test.

TEST_DATABASE_URL names a database on a server the tests may use. Parallel workers must not
share it, so each worker gets `<name>_<worker id>` (e.g. test_gw0), created through the server's
`postgres` database: the named database itself need not exist.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.store.database import make_session_factory, upgrade_database


def worker_database_url(base_url: str, worker: str | None) -> str:
    """`<db>_<worker>` under xdist (worker "gw0", "gw1", ...), the base database otherwise."""
    if not worker or worker == "master":
        return base_url
    url = make_url(base_url)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


def _server_engine(url: str):
    """An engine on the server's `postgres` database, outside transactions (CREATE DATABASE needs it)."""
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_database(url: str) -> None:
    """Create the database `url` names unless it exists already."""
    name = make_url(url).database
    engine = _server_engine(url)
    try:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def drop_database(url: str) -> None:
    engine = _server_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        engine.dispose()


def scratch_database_url(prefix: str) -> str:
    """A fresh, empty database on this worker's server, named after this worker's database."""
    base = make_url(os.environ["TEST_DATABASE_URL"])
    url = base.set(database=f"{base.database}_{prefix}_{os.urandom(4).hex()}").render_as_string(hide_password=False)
    create_database(url)
    return url


@pytest.fixture
def postgres_sessions(postgres_database):
    test_url = scratch_database_url("s")
    upgrade_database(test_url)
    engine = create_engine(test_url, pool_size=25)
    yield make_session_factory(engine)
    engine.dispose()
    drop_database(test_url)
