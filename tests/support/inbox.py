"""The advisor inbox in tests: two accounts, an HTTPS test client, logging in, a parent's open case."""
from __future__ import annotations

import re

import pytest

from bot.inbox.auth import create_advisor

PASSWORD = "correct horse battery"


@pytest.fixture
def advisor(services):
    with services.sessions.begin() as session:
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
