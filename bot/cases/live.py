"""The inbox's live feed: a Redis stream of what changed in cases, read by open inbox pages.

A stream rather than pub/sub: a page that reconnects (its stream ended, the network dropped)
asks for everything after the last event it saw, so nothing said in between is lost. Events
carry ids and codes only (case, priority, topic, advisor), never message text or names: the page
fetches what it shows through the logged-in inbox.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import redis

log = logging.getLogger(__name__)
STREAM = "inbox:live"
KEEP = 5000                    # events kept; a page away longer than that reloads its list


class RedisLiveFeed:
    def __init__(self, redis_client: redis.Redis, stream: str = STREAM):
        self._redis = redis_client
        self._stream = stream

    def publish(self, kind: str, case_id: int, **data) -> None:
        """Best effort: a lost live event costs a few seconds (pages also poll), never the turn."""
        event = {"kind": kind, "case": case_id, **data}
        try:
            self._redis.xadd(self._stream, {"e": json.dumps(event, ensure_ascii=False)}, maxlen=KEEP, approximate=True)
        except Exception as exc:  # noqa: BLE001 - Redis down: the case itself is already saved
            log.warning("live event %s for case %s not published: %s", kind, case_id, type(exc).__name__)

    def latest_id(self) -> str:
        newest = self._redis.xrevrange(self._stream, count=1)
        return _text(newest[0][0]) if newest else "0-0"

    def read(self, after: str, block_ms: int | None = None, count: int = 100) -> list[tuple[str, dict]]:
        """Events after `after` (a stream id); waits up to `block_ms` for the first one when given."""
        answer: Any = self._redis.xread({self._stream: after or "0-0"}, count=count, block=block_ms)
        events = []
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                raw = fields.get(b"e") or fields.get("e")
                events.append((_text(entry_id), json.loads(_text(raw))))
        return events


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
