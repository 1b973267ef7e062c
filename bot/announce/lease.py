"""One sender per announcement at a time: a lease in Redis, renewed after every batch.

Two senders would still deliver once (the batches' retry keys see to that), but would spend
calls on 409s. A worker killed mid-send leaves its lease behind: on the same machine a dead
holder's lease is taken over at once; elsewhere it lapses after LEASE_S.
"""
from __future__ import annotations

import os
import socket

from bot.adapters.redis_queue import _is_dead_local_owner

LEASE_S = 90
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0"


def _key(announcement_id: int) -> str:
    return f"announce:lease:{announcement_id}"


class SendLease:
    def __init__(self, connection, announcement_id: int):
        self._redis = connection
        self._key = _key(announcement_id)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"

    def acquire(self) -> bool:
        if self._redis.set(self._key, self.owner, nx=True, ex=LEASE_S):
            return True
        holder = self._redis.get(self._key)
        if holder and _is_dead_local_owner(holder.decode()):
            self._redis.eval(_RELEASE, 1, self._key, holder)
            return bool(self._redis.set(self._key, self.owner, nx=True, ex=LEASE_S))
        return False

    def renew(self) -> None:
        self._redis.eval(_RENEW, 1, self._key, self.owner, LEASE_S)

    def release(self) -> None:
        self._redis.eval(_RELEASE, 1, self._key, self.owner)


def is_held(connection, announcement_id: int) -> bool:
    holder = connection.get(_key(announcement_id))
    return bool(holder) and not _is_dead_local_owner(holder.decode())
