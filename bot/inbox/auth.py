"""Advisor accounts: argon2 password hashes, lockout after repeated failures, login rate limit."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.store.models import Advisor

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
ROLES = ("advisor", "admin")
_HASHER = PasswordHasher()


class AccountError(Exception):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def create_advisor(session: Session, email: str, password: str, role: str, display_name: str | None = None,
                   display_name_latin: str | None = None) -> Advisor:
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError(f"'{email}' is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role must be one of: {', '.join(ROLES)}")
    if session.scalar(select(func.count()).select_from(Advisor).where(Advisor.email == email)):
        raise AccountError(f"an account for {email} exists already")
    advisor = Advisor(email=email, display_name=(display_name or email.split("@")[0])[:100],
                      password_hash=hash_password(password), role=role, active=True, failed_logins=0)
    set_latin_name(advisor, display_name_latin or "")
    session.add(advisor)
    session.flush()
    return advisor


# One answer for every failed login, so the page says nothing about which accounts exist or are
# locked; it still tells a locked-out advisor what happened.
LOGIN_FAILED = ("メールアドレスかパスワードが違います。5回まちがえると15分間ログインできません"
                "(wrong e-mail or password; after 5 failures the account is locked for 15 minutes).")
_LATIN_NAME = re.compile(r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F .'-]{0,19}")


def set_latin_name(advisor: Advisor, name: str) -> None:
    """The name parents see on LINE: Latin letters only (they cannot all read kanji), ≤ 20 characters."""
    name = " ".join(name.split())
    if name and not _LATIN_NAME.fullmatch(name):
        raise AccountError("the LINE name for parents must be 1-20 Latin letters (spaces, . ' - allowed), "
                           "e.g. 'Aiko Tanaka' / 保護者に見せる名前はローマ字20文字以内で")
    advisor.display_name_latin = name or None


def authenticate(session: Session, email: str, password: str, now: datetime) -> tuple[Advisor | None, str | None]:
    """(advisor, None) on success; (None, LOGIN_FAILED) otherwise.

    Every failure costs one password hash, whether the account is unknown, inactive, locked or the
    password wrong: no timing hint, and keeping an account locked is as slow as guessing.
    """
    advisor = session.scalar(select(Advisor).where(Advisor.email == email.strip().lower()))
    if advisor is None or not advisor.active:
        _HASHER.hash("x" * MIN_PASSWORD_LENGTH)
        return None, LOGIN_FAILED
    attempt = _reserve_attempt(session, advisor.id, now)
    if attempt is None or attempt > MAX_FAILED_LOGINS:
        _HASHER.hash("x" * MIN_PASSWORD_LENGTH)
        return None, LOGIN_FAILED
    try:
        _HASHER.verify(advisor.password_hash, password)
    except (VerificationError, InvalidHashError):
        if attempt >= MAX_FAILED_LOGINS:
            session.execute(update(Advisor).where(Advisor.id == advisor.id)
                            .values(locked_until=now + LOCKOUT, failed_logins=0)
                            .execution_options(synchronize_session=False))
        return None, LOGIN_FAILED
    session.execute(update(Advisor).where(Advisor.id == advisor.id).values(failed_logins=0, locked_until=None)
                    .execution_options(synchronize_session=False))
    session.refresh(advisor)
    if _HASHER.check_needs_rehash(advisor.password_hash):
        advisor.password_hash = _HASHER.hash(password)
    return advisor, None


def _reserve_attempt(session: Session, advisor_id: int, now: datetime) -> int | None:
    """Counts this attempt BEFORE the password is checked, in one atomic UPDATE.

    Parallel guesses each get their own number (the row lock orders them), so at most
    MAX_FAILED_LOGINS passwords are ever checked before the lock; None while the account is locked.
    """
    counted = session.execute(
        update(Advisor)
        .where(Advisor.id == advisor_id, or_(Advisor.locked_until.is_(None), Advisor.locked_until <= now))
        .values(failed_logins=func.coalesce(Advisor.failed_logins, 0) + 1)
        .returning(Advisor.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar()
    return counted


def find_advisor(session: Session, email: str) -> Advisor:
    advisor = session.scalar(select(Advisor).where(Advisor.email == email.strip().lower()))
    if advisor is None:
        raise AccountError(f"no account for {email.strip().lower()}")
    return advisor


def reset_password(advisor: Advisor, new: str) -> None:
    """An admin sets a new password (the advisor forgot hers): the lock is lifted too."""
    advisor.password_hash = hash_password(new)
    advisor.failed_logins, advisor.locked_until = 0, None


def change_password(advisor: Advisor, current: str, new: str) -> None:
    try:
        _HASHER.verify(advisor.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise AccountError("the current password is wrong") from None
    advisor.password_hash = hash_password(new)


def login_failures_exceeded(connection, client_ip: str, limit_per_minute: int = 10) -> bool:
    """True when this address failed to log in too often in the last minute (successes don't count)."""
    try:
        value = connection.get(f"bot:login-failures:{client_ip}")
    except Exception:  # noqa: BLE001 - without Redis, the per-account lockout still protects
        return False
    return value is not None and int(value) >= limit_per_minute


def count_login_failure(connection, client_ip: str) -> None:
    key = f"bot:login-failures:{client_ip}"
    try:
        pipe = connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, 60, nx=True)
        pipe.execute()
    except Exception:  # noqa: BLE001 - see login_failures_exceeded
        pass
