"""Who is looking at a case now: each open case page says so every 15 s; 40 s of silence and it is gone."""
from __future__ import annotations

import time
from collections.abc import Callable

import redis

from bot.adapters import redis_text

SEEN_WITHIN_S = 40
KEY = "inbox:viewing:{case_id}"


class CasePresence:
    def __init__(self, redis_client: redis.Redis, clock: Callable[[], float] = time.time):
        self._redis = redis_client
        self._clock = clock

    def touch(self, case_id: int, advisor_id: int) -> None:
        key, now = KEY.format(case_id=case_id), self._clock()
        pipe = self._redis.pipeline()
        pipe.zadd(key, {str(advisor_id): now})
        pipe.zremrangebyscore(key, 0, now - SEEN_WITHIN_S)
        pipe.expire(key, SEEN_WITHIN_S * 2)        # a case nobody opens again leaves nothing behind
        pipe.execute()

    def leave(self, case_id: int, advisor_id: int) -> None:
        self._redis.zrem(KEY.format(case_id=case_id), str(advisor_id))

    def viewers(self, case_id: int) -> list[int]:
        now = self._clock()
        found = self._redis.zrangebyscore(KEY.format(case_id=case_id), now - SEEN_WITHIN_S, "+inf")
        return [int(redis_text(v)) for v in found]
