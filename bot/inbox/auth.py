"""Advisor accounts: argon2 password hashes, lockout after repeated failures, login rate limit."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
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


_LATIN_NAME = re.compile(r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F .'-]{0,19}")


def set_latin_name(advisor: Advisor, name: str) -> None:
    """The name parents see on LINE: Latin letters only (they cannot all read kanji), ≤ 20 characters."""
    name = " ".join(name.split())
    if name and not _LATIN_NAME.fullmatch(name):
        raise AccountError("the LINE name for parents must be 1-20 Latin letters (spaces, . ' - allowed), "
                           "e.g. 'Aiko Tanaka' / 保護者に見せる名前はローマ字20文字以内で")
    advisor.display_name_latin = name or None


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def authenticate(session: Session, email: str, password: str, now: datetime) -> tuple[Advisor | None, str | None]:
    """(advisor, None) on success; (None, reason) otherwise. The reason never tells which part was wrong."""
    advisor = session.scalar(select(Advisor).where(Advisor.email == email.strip().lower()))
    if advisor is None or not advisor.active:
        _HASHER.hash("x" * MIN_PASSWORD_LENGTH)       # same work either way: no timing hint about accounts
        return None, "wrong e-mail or password"
    if advisor.locked_until and _aware(advisor.locked_until) > now:
        return None, "too many failed attempts: the account is locked for 15 minutes"
    try:
        _HASHER.verify(advisor.password_hash, password)
    except (VerificationError, InvalidHashError):
        advisor.failed_logins = (advisor.failed_logins or 0) + 1
        if advisor.failed_logins >= MAX_FAILED_LOGINS:
            advisor.locked_until, advisor.failed_logins = now + LOCKOUT, 0
        return None, "wrong e-mail or password"
    advisor.failed_logins, advisor.locked_until = 0, None
    if _HASHER.check_needs_rehash(advisor.password_hash):
        advisor.password_hash = _HASHER.hash(password)
    return advisor, None


def change_password(advisor: Advisor, current: str, new: str) -> None:
    try:
        _HASHER.verify(advisor.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise AccountError("the current password is wrong") from None
    advisor.password_hash = hash_password(new)


def login_rate_limited(connection, client_ip: str, limit_per_minute: int = 10) -> bool:
    """True when this address tried to log in too often in the last minute."""
    key = f"bot:login-rate:{client_ip}"
    try:
        count = connection.incr(key)
        if count == 1:
            connection.expire(key, 60)
    except Exception:  # noqa: BLE001 - without Redis, the per-account lockout still protects
        return False
    return count > limit_per_minute
