"""Server-side inbox sessions in Redis, so that logging out, a password change or deactivating an
account ends every copy of a session cookie at once.

The signed Flask cookie carries only a random session id. Redis keeps, per session, the advisor's
id under a hash of that id (a Redis dump does not hand out live session ids), with the idle
timeout as its expiry, and per advisor the set of their sessions so all of them can be ended.
"""
from __future__ import annotations

import hashlib
import secrets
from contextlib import contextmanager

import redis

SESSION_KEY = "bot:inbox-session:{}"
ADVISOR_SESSIONS_KEY = "bot:inbox-sessions:{}"


class SessionStoreError(Exception):
    """Redis did not answer: the inbox cannot tell who is logged in."""


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class RedisInboxSessions:
    def __init__(self, connection: redis.Redis, idle_minutes: int):
        self._redis = connection
        self._idle_s = max(60, idle_minutes * 60)

    def start(self, advisor_id: int) -> str:
        session_id = secrets.token_urlsafe(32)
        digest = _digest(session_id)
        with self._guard():
            pipe = self._redis.pipeline()
            pipe.set(SESSION_KEY.format(digest), advisor_id, ex=self._idle_s)
            pipe.sadd(ADVISOR_SESSIONS_KEY.format(advisor_id), digest)
            pipe.expire(ADVISOR_SESSIONS_KEY.format(advisor_id), self._idle_s)
            pipe.execute()
        return session_id

    def advisor_of(self, session_id: str) -> int | None:
        """The advisor this session belongs to, or None when it ended; each use renews the idle time."""
        key = SESSION_KEY.format(_digest(session_id))
        with self._guard():
            pipe = self._redis.pipeline()
            pipe.get(key)
            pipe.expire(key, self._idle_s)
            value, _ = pipe.execute()
        return int(value) if value is not None else None

    def end(self, session_id: str) -> None:
        with self._guard():
            self._redis.delete(SESSION_KEY.format(_digest(session_id)))

    def end_all(self, advisor_id: int) -> int:
        """Ends every session of this advisor (logout everywhere, password change, deactivation)."""
        set_key = ADVISOR_SESSIONS_KEY.format(advisor_id)
        with self._guard():
            digests = [d.decode() if isinstance(d, bytes) else d for d in self._redis.smembers(set_key)]
            pipe = self._redis.pipeline()
            for digest in digests:
                pipe.delete(SESSION_KEY.format(digest))
            pipe.delete(set_key)
            pipe.execute()
        return len(digests)

    @staticmethod
    @contextmanager
    def _guard():
        try:
            yield
        except redis.RedisError as exc:
            raise SessionStoreError(f"Redis did not answer: {exc}") from exc
