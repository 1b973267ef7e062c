"""RQ entry of the daily reminder sweep, and when it runs next.

The worker makes sure the job `reminders-daily` is scheduled (RQ's scheduler: one active at a
time across the fleet, it holds a lock per queue). Each run sweeps, then schedules the next
run at `send_at` Japan time tomorrow, or in 15 minutes when LINE was down (before 21:00).
A worker that starts after downtime runs it within a minute: reminders missed meanwhile are
sent then, up to the schedule's catch-up days late.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from bot.runtime import current_services

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
        services.tasks.enqueue_at(next_run(services.clock, sweep.send_at, report.line_unavailable),
                                  REMINDER_JOB, job_id=REMINDER_JOB_ID)
    result = asdict(report)
    result["day"] = report.day.isoformat()
    return result


def next_run(clock, send_at, retry_soon: bool) -> datetime:
    """The next send_at in Japan time (UTC for RQ), or a retry soon when LINE was down."""
    now = clock.now()
    local = clock.local(now)
    if retry_soon and (local + RETRY_AFTER).hour < 21:
        return now + RETRY_AFTER
    today_at = local.replace(hour=send_at.hour, minute=send_at.minute, second=0, microsecond=0)
    target = today_at if today_at > local else today_at + timedelta(days=1)
    return clock.local(target).astimezone(now.tzinfo)
