"""RQ entry of the daily reminder sweep, and when it runs next.

RQ's scheduler runs it (one active scheduler at a time across the fleet: it holds a lock per
queue). Each run sweeps, then schedules the next run at `send_at` Japan time, or in 15 minutes
when LINE was down (before 21:00). Job ids carry the day (`reminders-daily-2027-04-05`): a job
that re-enqueued itself under its own id would have that new job clobbered when RQ stores its
result and lets it expire, and dated ids let any number of workers schedule the same run once.
A worker that starts after downtime runs a catch-up sweep within a minute: reminders missed
meanwhile go out then, up to the schedule's catch-up days late (the sent-log makes it harmless
when nothing was missed).
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from bot.pipeline.runtime import current_services

log = logging.getLogger(__name__)
REMINDER_JOB_ID = "reminders-daily"
REMINDER_JOB = "bot.reminders.jobs.run_reminder_sweep"
RETRY_AFTER = timedelta(minutes=15)


def run_reminder_sweep(at_iso: str | None = None) -> dict:
    """`at_iso` runs the sweep for another moment (tests and operators' catch-up); the scheduled
    run passes nothing and reads the clock."""
    services = current_services()
    sweep = services.reminder_sweep()
    at = datetime.fromisoformat(at_iso) if at_iso else None
    report = sweep.run(at)
    if report.pushed or report.unfinished:
        log.info("reminders %s: %d written, %d pushed, %d expired%s", report.day, report.written, report.pushed,
                 report.expired, " (stopped at the monthly quota)" if report.stopped_at_quota else "")
    if at_iso is None:
        when = next_run(services.clock, sweep.send_at, report.line_unavailable)
        services.tasks.enqueue_at(when, REMINDER_JOB, job_id=_job_id(services.clock, when))
    result = asdict(report)
    result["day"] = report.day.isoformat()
    return result


def ensure_reminder_sweeps(services) -> None:
    """At each worker (re)start: a catch-up sweep in a minute, and the next regular one."""
    clock = services.clock
    send_at = services.extras["reminder_schedule"]().send_at
    services.tasks.ensure_scheduled(f"{REMINDER_JOB_ID}-catch-up-{clock.today().isoformat()}",
                                    timedelta(minutes=1), REMINDER_JOB)
    when = next_run(clock, send_at, retry_soon=False)
    services.tasks.ensure_scheduled(_job_id(clock, when), max(when - clock.now(), timedelta(seconds=1)), REMINDER_JOB)


def _job_id(clock, when: datetime) -> str:
    local = clock.local(when)
    return f"{REMINDER_JOB_ID}-{local.date().isoformat()}-{local.strftime('%H%M')}"


def next_run(clock, send_at, retry_soon: bool) -> datetime:
    """The next send_at in Japan time (UTC for RQ), or a retry soon when LINE was down."""
    now = clock.now()
    local = clock.local(now)
    if retry_soon and (local + RETRY_AFTER).hour < 21:
        return now + RETRY_AFTER
    today_at = local.replace(hour=send_at.hour, minute=send_at.minute, second=0, microsecond=0)
    target = today_at if today_at > local else today_at + timedelta(days=1)
    return clock.local(target).astimezone(now.tzinfo)
