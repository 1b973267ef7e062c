"""TaskQueue port over RQ: background jobs (notifications, escalations) with retries."""
from __future__ import annotations

from datetime import datetime, timedelta

import redis
from rq import Queue, Retry

TASK_QUEUE = "bot-tasks"
_RETRY = Retry(max=5, interval=[10, 30, 60, 120, 300])


class RqTaskQueue:
    def __init__(self, connection: redis.Redis):
        self._queue = Queue(TASK_QUEUE, connection=connection)

    def enqueue(self, function_path: str, *args) -> None:
        self._queue.enqueue(function_path, *args, retry=_RETRY, failure_ttl=7 * 24 * 3600)

    def enqueue_in(self, delay: timedelta, function_path: str, *args, job_id: str | None = None) -> None:
        self._queue.enqueue_in(delay, function_path, *args, retry=_RETRY, failure_ttl=7 * 24 * 3600, job_id=job_id)

    def enqueue_at(self, when: datetime, function_path: str, *args, job_id: str | None = None) -> None:
        self._queue.enqueue_at(when, function_path, *args, retry=_RETRY, failure_ttl=7 * 24 * 3600, job_id=job_id)

    def ensure_scheduled(self, job_id: str, delay: timedelta, function_path: str) -> bool:
        """Schedule a recurring job unless it is already waiting; True when it was added now."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job
        try:
            job = Job.fetch(job_id, connection=self._queue.connection)
            if job.get_status(refresh=True) in {"scheduled", "queued", "started", "deferred"}:
                return False
        except NoSuchJobError:
            pass
        self.enqueue_in(delay, function_path, job_id=job_id)
        return True
