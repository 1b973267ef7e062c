"""A private PostgreSQL database per test, created in the server at TEST_DATABASE_URL."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from bot.store.database import make_session_factory, upgrade_database


@pytest.fixture
def postgres_sessions():
    url = os.environ["TEST_DATABASE_URL"]
    name = f"bot_test_{os.urandom(4).hex()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    test_url = url.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(test_url)
    engine = create_engine(test_url, pool_size=25)
    yield make_session_factory(engine)
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
