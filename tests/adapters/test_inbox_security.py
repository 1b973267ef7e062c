"""Inbox sessions that can be ended, a lockout that holds under parallel guesses, SECRET_KEY, headers."""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bot.inbox import auth
from bot.inbox.auth import authenticate, create_advisor
from bot.inbox.sessions import SESSION_KEY, RedisInboxSessions, _digest
from bot.settings import SettingsError
from bot.store.models import Advisor
from tests.support.inbox import PASSWORD, csrf, login

NEW_PASSWORD = "another long passphrase"


@pytest.fixture
def accounts(services):
    with services.sessions.begin() as session:
        create_advisor(session, "tanaka@npo.example", PASSWORD, "advisor", "田中")
        create_advisor(session, "admin@npo.example", PASSWORD, "admin", "管理者")


def https_client(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def copy_cookies(source, target) -> None:
    """What an attacker does with a stolen cookie: the same values in another browser."""
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def logged_in_pair(app):
    first, copy = https_client(app), https_client(app)
    assert login(first).status_code == 302
    copy_cookies(first, copy)
    assert copy.get("/inbox/").status_code == 200
    return first, copy


def post_form(client, path, data):
    page = client.get(path).data
    return client.post(path, data={**data, "csrf_token": csrf(page)})


def test_logout_ends_a_copied_session(app, accounts):
    first, copy = logged_in_pair(app)
    page = first.get("/inbox/").data
    first.post("/inbox/logout", data={"csrf_token": csrf(page)})
    assert copy.get("/inbox/").status_code == 302


def test_password_change_ends_other_sessions_and_keeps_this_one(app, accounts):
    first, copy = logged_in_pair(app)
    response = post_form(first, "/inbox/password", {"current": PASSWORD, "new": NEW_PASSWORD})
    assert "ほかの端末のログインは終了しました" in response.get_data(as_text=True)
    assert copy.get("/inbox/").status_code == 302
    assert first.get("/inbox/").status_code == 200


def test_deactivation_and_password_reset_by_an_admin_end_sessions(app, services, accounts):
    advisor, copy = logged_in_pair(app)
    admin = https_client(app)
    login(admin, "admin@npo.example")
    with services.sessions() as session:
        tanaka = session.scalar(select(Advisor).where(Advisor.email == "tanaka@npo.example"))
    post_form(admin, "/inbox/admin/accounts", {"action": "reset-password", "advisor_id": tanaka.id, "password": NEW_PASSWORD})
    assert advisor.get("/inbox/").status_code == 302 and copy.get("/inbox/").status_code == 302
    assert login(advisor, password=NEW_PASSWORD).status_code == 302
    second_copy = https_client(app)
    copy_cookies(advisor, second_copy)
    assert second_copy.get("/inbox/").status_code == 200
    post_form(admin, "/inbox/admin/accounts", {"action": "deactivate", "advisor_id": tanaka.id})
    assert advisor.get("/inbox/").status_code == 302 and second_copy.get("/inbox/").status_code == 302
    assert login(advisor, password=NEW_PASSWORD).status_code == 401


def test_idle_sessions_expire_in_redis(redis_client):
    sessions = RedisInboxSessions(redis_client, idle_minutes=30)
    session_id = sessions.start(7)
    key = SESSION_KEY.format(_digest(session_id))
    assert 0 < redis_client.ttl(key) <= 30 * 60
    assert sessions.advisor_of(session_id) == 7
    assert session_id not in str(redis_client.keys("bot:inbox-session*"))     # only a hash is stored
    redis_client.delete(key)                                                   # what the expiry does
    assert sessions.advisor_of(session_id) is None


def test_users_commands_deactivate_and_reset_password(services, accounts, settings, monkeypatch):
    import argparse
    import io

    from bot.commands import users
    sessions = services.inbox_sessions
    with services.sessions() as session:
        tanaka_id = session.scalar(select(Advisor.id).where(Advisor.email == "tanaka@npo.example"))
    live = sessions.start(tanaka_id)
    monkeypatch.setattr("bot.commands.serve._settings_or_exit", lambda: settings)
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    assert users.run_reset_password(argparse.Namespace(email="Tanaka@npo.example")) == 0
    assert sessions.advisor_of(live) is None
    with services.sessions.begin() as session:
        advisor, error = authenticate(session, "tanaka@npo.example", NEW_PASSWORD, datetime.now(UTC))
        assert error is None
    assert users.run_deactivate(argparse.Namespace(email="tanaka@npo.example")) == 0
    assert users.run_deactivate(argparse.Namespace(email="nobody@npo.example")) == 1
    with services.sessions() as session:
        assert session.scalar(select(Advisor.active).where(Advisor.id == tanaka_id)) is False


def test_locked_and_unknown_accounts_get_the_same_answer(app, accounts):
    client = https_client(app)
    for _ in range(5):
        login(client, password="nope nope nope")
    locked = login(client).get_data(as_text=True)
    unknown = login(client, email="nobody@npo.example").get_data(as_text=True)
    message = re.search(r'role="alert">([^<]+)<', locked).group(1)
    assert "ロック" in message or "locked" in message
    assert re.search(r'role="alert">([^<]+)<', unknown).group(1) == message


def test_rate_limit_counts_failures_not_successes(app, accounts):
    client = https_client(app)
    for _ in range(12):
        assert login(client).status_code == 302            # an advisor logging in again and again is fine
    for _ in range(10):
        login(client, email="nobody@npo.example")
    assert login(client).status_code == 429


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting how many passwords it was asked to check."""
    def __init__(self):
        super().__init__()
        self.checked = 0
        self._count_lock = threading.Lock()

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        with self._count_lock:
            self.checked += 1
        return super().verify(hash, password)


def _parallel_wrong_logins(sessions_factory, count: int) -> None:
    barrier = threading.Barrier(count)

    def guess():
        barrier.wait()
        with sessions_factory.begin() as session:
            authenticate(session, "tanaka@npo.example", "wrong guess number", datetime.now(UTC))

    threads = [threading.Thread(target=guess) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _assert_locked_after_five(sessions_factory, monkeypatch, guesses: int):
    with sessions_factory.begin() as session:
        create_advisor(session, "tanaka@npo.example", PASSWORD, "advisor", "田中")
    hasher = CountingHasher()
    monkeypatch.setattr(auth, "_HASHER", hasher)
    _parallel_wrong_logins(sessions_factory, guesses)
    assert hasher.checked <= 5
    with sessions_factory.begin() as session:
        advisor, error = authenticate(session, "tanaka@npo.example", PASSWORD, datetime.now(UTC))
    assert advisor is None and error == auth.LOGIN_FAILED


@pytest.mark.postgres
def test_twenty_parallel_wrong_passwords_on_postgresql_lock_after_five(postgres_sessions, monkeypatch):
    _assert_locked_after_five(postgres_sessions, monkeypatch, guesses=20)


def test_parallel_wrong_passwords_on_sqlite_lock_after_five(services, monkeypatch):
    # SQLite runs one writing transaction at a time (BEGIN IMMEDIATE, bot/store/database.py), so
    # every guess waits for the one before it and its argon2 check: 20 guesses cost 20 serial
    # hashes. Twice the limit still shows what matters here: the first five are checked, the
    # next five are refused without a check, none fails on the busy database, the account locks.
    _assert_locked_after_five(services.sessions, monkeypatch, guesses=10)


def test_web_refuses_to_start_without_secret_key(settings, services):
    from dataclasses import replace

    from bot.app import create_app
    with pytest.raises(SettingsError, match="SECRET_KEY.*Secret Manager"):
        create_app(replace(settings, secret_key=""), services)
    assert create_app(replace(settings, secret_key="", dev_mode=True), services) is not None


def test_security_headers_and_no_inline_script(app, accounts):
    client = https_client(app)
    login(client, "admin@npo.example")
    for path in ("/inbox/", "/inbox/admin/accounts", "/inbox/admin/dashboard", "/inbox/login", "/healthz"):
        response = client.get(path)
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] and headers["Strict-Transport-Security"].startswith("max-age=")
        for tag in re.findall(r"<script[^>]*>", response.get_data(as_text=True)):
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script on {path}: {tag}"
    assert client.get("/inbox/static/cases.js").status_code == 200


def test_client_address_comes_from_the_trusted_proxy_hop_only(settings, services):
    from dataclasses import replace

    from bot.app import create_app
    app = create_app(replace(settings, trusted_proxy_hops=2), services)
    seen = []
    app.before_request(lambda: seen.append(__import__("flask").request.remote_addr))
    client = app.test_client()
    client.get("/healthz", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 130.211.0.1"})
    assert seen == ["203.0.113.9"]     # what the client wrote (6.6.6.6) is not trusted


def test_accounts_page_lists_each_account_once(app, accounts):
    client = https_client(app)
    login(client, "admin@npo.example")
    page = client.get("/inbox/admin/accounts").get_data(as_text=True)
    assert page.count("tanaka@npo.example") == 1
    assert page.count('value="reset-password"') == 1          # every account but the admin's own
    assert len(page) < 20_000
