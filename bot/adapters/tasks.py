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

    def schedule_periodic(self, job_id: str, delay: timedelta, function_path: str) -> None:
        """The next run of a job that reschedules itself under its own id (quota hourly, retention
        daily, announcement watch). Kept without expiry (result_ttl -1): the run scheduling it
        shares that id, and when it finishes RQ writes its result onto the same hash and, with the
        default result_ttl, lets it expire in 500 s; the scheduler then silently drops the next run
        (its hash is gone), so the job ran once per worker start."""
        self._queue.enqueue_in(delay, function_path, retry=_RETRY, failure_ttl=7 * 24 * 3600, job_id=job_id,
                               result_ttl=-1)

    def ensure_scheduled(self, job_id: str, delay: timedelta, function_path: str, periodic: bool = False) -> bool:
        """Schedule a job unless it is already waiting; True when it was added now. `periodic`: one
        that reschedules itself with `schedule_periodic` (its hash may say 'finished' while its
        next run waits in the scheduled registry)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job
        from rq.registry import ScheduledJobRegistry
        try:
            job = Job.fetch(job_id, connection=self._queue.connection)
            if job.get_status(refresh=True) in {"scheduled", "queued", "started", "deferred"} or \
                    job_id in ScheduledJobRegistry(queue=self._queue):
                return False
        except NoSuchJobError:
            pass                            # (a registry entry without its hash is dropped by RQ's scheduler)
        if periodic:
            self.schedule_periodic(job_id, delay, function_path)
        else:
            self.enqueue_in(delay, function_path, job_id=job_id)
        return True
