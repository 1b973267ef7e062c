"""RQ entries for announcements, and how they are queued (now, at a time, again after a crash).

Jobs live on the task queue (`bot-tasks`), so every worker runs them. The state is in the
database, not in RQ: when a worker starts it re-queues every announcement that was sending (its
worker died) or is due, so a lost job or a Redis restart delays an announcement, never loses it.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from rq import Queue, Retry
from sqlalchemy import select

from bot.adapters.tasks import TASK_QUEUE
from bot.pipeline.runtime import current_services
from bot.store.announcements import Announcement

log = logging.getLogger(__name__)
SEND_JOB = "bot.announce.jobs.send_announcement"
_RETRY = Retry(max=10, interval=[10, 30, 60, 120, 300])       # LINE down for a while: keep trying
WATCH_JOB = "bot.announce.jobs.watch_announcements"
WATCH_JOB_ID = "announce-watch"
PERIODIC_WATCH_JOB = "bot.announce.jobs.watch_announcements_periodically"
WATCH_EVERY = timedelta(minutes=2)      # a send whose worker died (and was not restarted) goes on within this


def send_job_id(announcement_id: int) -> str:
    return f"announce-send-{announcement_id}"


class AnnouncementQueue:
    """Queues the send job now or at a moment (RQ's scheduler, `enqueue_at`)."""

    def __init__(self, connection):
        self._queue = Queue(TASK_QUEUE, connection=connection)

    def send_now(self, announcement_id: int) -> None:
        self._queue.enqueue(SEND_JOB, announcement_id, job_id=send_job_id(announcement_id), retry=_RETRY,
                            failure_ttl=7 * 24 * 3600, job_timeout=3600)

    def send_at(self, announcement_id: int, when: datetime) -> None:
        self._queue.enqueue_at(when, SEND_JOB, announcement_id, job_id=send_job_id(announcement_id), retry=_RETRY,
                               failure_ttl=7 * 24 * 3600, job_timeout=3600)

    def translate(self, announcement_id: int, locales: list[str], back_only: bool = False) -> None:
        from bot.announce.translation import JOB
        self._queue.enqueue(JOB, announcement_id, locales, back_only, retry=Retry(max=3, interval=[10, 60, 300]),
                            failure_ttl=24 * 3600)

    def cancel(self, announcement_id: int) -> None:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job
        try:
            Job.fetch(send_job_id(announcement_id), connection=self._queue.connection).delete()
        except NoSuchJobError:
            pass


def watch_announcements_soon(services) -> None:
    """At worker start (Redis only, so a database outage cannot stop the worker starting): look
    at once for sends whose worker died, and keep the periodic look scheduled."""
    services.tasks.enqueue(WATCH_JOB)
    services.tasks.ensure_scheduled(WATCH_JOB_ID, WATCH_EVERY, PERIODIC_WATCH_JOB, periodic=True)


def resume_announcements(services) -> int:
    """Queue every announcement still sending without a live sender (its worker died) or already
    due; make sure each later one has its scheduled job. State is in the database, so a lost RQ
    job or a Redis restart delays an announcement, never loses it."""
    from bot.announce.lease import is_held
    queue = AnnouncementQueue(services.redis)
    now = services.clock.now()
    with services.sessions() as session:
        rows = session.execute(select(Announcement.id, Announcement.status, Announcement.scheduled_at)
                               .where(Announcement.status.in_(("sending", "scheduled")))).all()
    queued = 0
    for announcement_id, status, when in rows:
        when = when if when is None or when.tzinfo else when.replace(tzinfo=UTC)
        if status == "sending" or when is None or when <= now:
            if not is_held(services.redis, announcement_id):
                queue.send_now(announcement_id)
                queued += 1
        else:
            queue.send_at(announcement_id, when)
    return queued


def watch_announcements() -> int:
    """The job run at worker start: resume what needs it."""
    return resume_announcements(current_services())


def watch_announcements_periodically() -> int:
    """Every WATCH_EVERY: resume what needs it, then schedule the next look."""
    services = current_services()
    queued = resume_announcements(services)
    services.tasks.schedule_periodic(WATCH_JOB_ID, WATCH_EVERY, PERIODIC_WATCH_JOB)
    return queued


def send_announcement(announcement_id: int) -> str:
    """Send (or go on sending) one announcement, unless another live worker is already at it."""
    from bot.announce.lease import SendLease
    from bot.announce.wiring import announcement_sender
    services = current_services()
    lease = SendLease(services.redis, announcement_id)
    if not lease.acquire():
        return "busy"
    try:
        status = announcement_sender(services, on_progress=lease.renew).run(announcement_id)
    finally:
        lease.release()
    log.info("announcement %s: %s", announcement_id, status)
    return status


def translate_announcement(announcement_id: int, locales: list[str], back_only: bool = False) -> int:
    from bot.announce.translation import translate_announcement as translate
    services = current_services()
    return translate(services.sessions, services.translator, announcement_id, locales, back_only)
