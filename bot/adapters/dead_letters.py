"""Events set aside after failing on their own content, kept in Redis for an operator.

Each entry is one key with a time to live (DEAD_LETTER_DAYS), plus a sorted set that lists
them by time. An operator lists, replays (back to the end of the user's list, with fresh
attempts) or drops them (`python -m bot dead-letter`, the inbox's admin page). A user's
"delete my data" and retention erase them: an entry holds the raw event, LINE id and text.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass

import redis

from bot.adapters import redis_text

INDEX_KEY = "bot:dead-letters"
LEGACY_LIST_KEY = "bot:dead-letter"          # before entries expired: a plain list, moved on first read


def _entry_key(entry_id: str) -> str:
    return f"bot:dead:{entry_id}"


@dataclass(frozen=True)
class DeadLetter:
    id: str
    partition: str
    event_type: str
    reason: str
    set_aside_at: float           # Unix time
    event: str                    # the raw event as the webhook stored it

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("event")
        return data


class RedisDeadLetters:
    def __init__(self, connection: redis.Redis, keep_days: int = 14):
        self._redis = connection
        self._ttl_s = max(1, keep_days) * 24 * 3600

    def add(self, raw: str, partition: str, reason: str, now: float | None = None) -> DeadLetter:
        entry = DeadLetter(id=hashlib.sha256(raw.encode()).hexdigest()[:20], partition=partition,
                           event_type=_event_type(raw), reason=reason[:500],
                           set_aside_at=time.time() if now is None else now, event=raw)
        with self._redis.pipeline() as pipe:
            pipe.set(_entry_key(entry.id), json.dumps(asdict(entry), ensure_ascii=False), ex=self._ttl_s)
            pipe.zadd(INDEX_KEY, {entry.id: entry.set_aside_at})
            pipe.execute()
        return entry

    def list(self) -> list[DeadLetter]:
        """Every entry still kept, oldest first (expired ones leave the index here)."""
        self._move_legacy_entries()
        ids = [redis_text(i) for i in self._redis.zrange(INDEX_KEY, 0, -1)]
        entries, gone = [], []
        for entry_id, raw in zip(ids, self._redis.mget([_entry_key(i) for i in ids]) if ids else []):
            if raw is None:
                gone.append(entry_id)
            else:
                entries.append(DeadLetter(**json.loads(raw)))
        if gone:
            self._redis.zrem(INDEX_KEY, *gone)
        return entries

    def get(self, entry_id: str) -> DeadLetter | None:
        raw = self._redis.get(_entry_key(entry_id))
        return DeadLetter(**json.loads(raw)) if raw else None

    def drop(self, entry_id: str) -> bool:
        with self._redis.pipeline() as pipe:
            pipe.delete(_entry_key(entry_id))
            pipe.zrem(INDEX_KEY, entry_id)
            deleted, _ = pipe.execute()
        return bool(deleted)

    def erase_partition(self, partition: str) -> int:
        """A user's "delete my data": every entry of their chat goes."""
        mine = [e.id for e in self.list() if e.partition == partition]
        for entry_id in mine:
            self.drop(entry_id)
        return len(mine)

    def expire_before(self, cutoff_unix: float) -> int:
        """Retention: entries set aside before `cutoff_unix` go (their keys also expire alone)."""
        old = [e.id for e in self.list() if e.set_aside_at < cutoff_unix]
        for entry_id in old:
            self.drop(entry_id)
        return len(old)

    def _move_legacy_entries(self) -> None:
        while (raw := self._redis.lpop(LEGACY_LIST_KEY)) is not None:
            try:
                item = json.loads(redis_text(raw))
                event = item["event"]
                partition = _partition(event)
                self.add(event, partition, item.get("reason", ""))
            except (ValueError, KeyError, TypeError):
                continue


def _event_type(raw: str) -> str:
    try:
        return str(json.loads(raw).get("type", "?"))[:40]
    except (ValueError, AttributeError):
        return "?"


def _partition(raw: str) -> str:
    from bot.pipeline.events import partition_of
    try:
        return partition_of(json.loads(raw))
    except (ValueError, AttributeError):
        return "no-source"
