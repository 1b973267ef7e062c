"""TaskQueue port over RQ: background jobs (notifications, escalations) with retries."""
from __future__ import annotations

from datetime import timedelta

import redis
from rq import Queue, Retry

TASK_QUEUE = "bot-tasks"
_RETRY = Retry(max=5, interval=[10, 30, 60, 120, 300])


class RqTaskQueue:
    def __init__(self, connection: redis.Redis):
        self._queue = Queue(TASK_QUEUE, connection=connection)

    def enqueue(self, function_path: str, *args) -> None:
        self._queue.enqueue(function_path, *args, retry=_RETRY, failure_ttl=7 * 24 * 3600)

    def enqueue_in(self, delay: timedelta, function_path: str, *args) -> None:
        self._queue.enqueue_in(delay, function_path, *args, retry=_RETRY, failure_ttl=7 * 24 * 3600)
