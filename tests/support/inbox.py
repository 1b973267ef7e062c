"""The advisor inbox in tests: two accounts, an HTTPS test client, logging in, a parent's open case."""
from __future__ import annotations

import functools
import re

import pytest

from bot.inbox import auth
from bot.inbox.auth import create_advisor

PASSWORD = "correct horse battery"


_hash_password = auth.hash_password


@functools.cache
def _password_hash(password: str) -> str:
    return _hash_password(password)


@pytest.fixture
def advisor(services, monkeypatch):
    """Two accounts. An argon2 hash costs about 0.15 s of CPU (on purpose): the fixture's two
    accounts take one real hash of PASSWORD made once per process; logging in verifies it as ever."""
    with monkeypatch.context() as patched, services.sessions.begin() as session:
        patched.setattr(auth, "hash_password", _password_hash)
        create_advisor(session, "tanaka@npo.example", PASSWORD, "advisor", "田中")
        create_advisor(session, "admin@npo.example", PASSWORD, "admin", "管理者")


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def login(client, email="tanaka@npo.example", password=PASSWORD):
    page = client.get("/inbox/login").data
    return client.post("/inbox/login", data={"email": email, "password": password, "csrf_token": csrf(page)})


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"     # session cookies are Secure outside dev mode
    return client


def open_case(bot, user_id="Uvi-mom", text="Con tôi bị sốt"):
    bot.follow(user_id, language="vi")
    bot.say(user_id, "talk to a person")
    bot.say(user_id, text)
