"""RQ job functions. Each is a thin entry that finds the worker's services and delegates."""
from __future__ import annotations

import logging

from bot.pipeline.runtime import current_services
from bot.store.models import utcnow

log = logging.getLogger(__name__)


def drain_partition(partition: str) -> int:
    """Handle the waiting events of one user (or group/room), in order.

    An outage is not this job's failure: the event stays first in the user's list, the
    worker pauses while the database is down, and the sweep drains again once it is back.
    An error of the event's own is raised, so RQ retries the job.
    """
    from bot.pipeline.faults import DATABASE, REDIS, dependency_of
    services = current_services()
    try:
        return services.event_processor().drain(partition)
    except Exception as exc:
        dependency = dependency_of(exc)
        if dependency is None or dependency == REDIS:
            raise                      # Redis down: RQ's loop stops and the worker reconnects
        log.warning("drain of a chat waits: %s unavailable (%s)", dependency, type(exc).__name__)
        if dependency == DATABASE:
            services.watch.note_down(DATABASE)
        return 0


def drain_ready() -> int:
    """A drainer: take ready users one after another and drain each (bot/pipeline/drainers.py).

    Queued by the webhook while fewer drainers than workers are alive. A database outage ends it
    and pauses the worker, which then makes every waiting user ready again; a Redis outage ends
    RQ's loop as for any job.
    """
    from rq import get_current_job

    from bot.pipeline.drainers import Drainer
    from bot.pipeline.faults import DATABASE, dependency_of
    services = current_services()
    job = get_current_job()
    processor = services.event_processor()
    try:
        return Drainer(services.inbox, processor.drain, stop=services.stop,
                       linger_s=services.settings.drainer_linger_s).run(job.id if job else "no-job")
    except Exception as exc:
        if dependency_of(exc) != DATABASE:
            raise
        log.warning("drainer stops: the database is unavailable (%s)", type(exc).__name__)
        services.watch.note_down(DATABASE)
        return 0


def notify_advisors(case_id: int, kind: str) -> int:
    from bot.cases.notices import notify_case
    return notify_case(current_services(), case_id, kind, utcnow())


def escalate_if_unclaimed(case_id: int) -> bool:
    from bot.cases.notices import escalate_if_unclaimed as escalate
    return escalate(current_services(), case_id, utcnow())


def deliver_messages(message_ids: list[int]) -> None:
    """Push messages that belong to no LINE event (advisor replies), retried by RQ on LINE outages."""
    current_services().delivery.deliver_messages(message_ids)


def translate_inbound_messages(message_ids: list[int], locale: str) -> int:
    """Japanese for users' messages shown in the inbox (a case page asks; it never waits for it)."""
    from bot.inbox.translations import translate_inbound
    services = current_services()
    return translate_inbound(services.sessions, services.translator, services.inbox_translations, message_ids, locale)


def erase_user_data(line_user_id: str, locale: str) -> dict:
    """The user's "delete my data": erase, then tell them it is done (sent without storing it)."""
    import uuid

    from bot.dialogue.messages import text_message
    from bot.store.erase import erase_user
    from bot.store.users import RETRY_KEY_NAMESPACE

    services = current_services()
    with services.sessions.begin() as session:
        counts = erase_user(session, line_user_id, services.redis)
    text = services.content.current().catalog.text(locale, "privacy.deleted")
    retry_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"erased:{line_user_id}:{counts}"))
    services.messenger.push(line_user_id, [text_message(text)], retry_key)
    return counts


def run_retention_job() -> int:
    """Daily: delete what is older than MESSAGE_RETENTION_DAYS, then schedule the next run."""
    from datetime import timedelta

    from bot.store.retention import RETENTION_JOB_ID, run_retention

    services = current_services()
    now = utcnow()
    with services.sessions.begin() as session:
        run = run_retention(session, now, services.settings.message_retention_days)
        deleted = run.messages_deleted + run.cases_deleted + run.questions_deleted
    # Set-aside events hold raw text and LINE ids: never kept longer than messages are.
    keep_days = min(services.settings.message_retention_days, services.settings.dead_letter_days)
    deleted += services.dead_letters.expire_before((now - timedelta(days=keep_days)).timestamp())
    services.tasks.schedule_periodic(RETENTION_JOB_ID, timedelta(days=1), "bot.jobs.run_retention_job")
    return deleted


def alert_admins(subject: str, body: str) -> int:
    """An operational alert (LINE quota) to every configured notifier; RQ retries on failure."""
    services = current_services()
    for notifier in services.notifiers:
        notifier.alert(subject, body)
    return len(services.notifiers)


def refresh_line_quota() -> bool:
    """Hourly: read LINE's message quota (dashboard, 80 %/95 % warnings), then schedule the next run."""
    from bot.pipeline.quota import QUOTA_JOB_ID, REFRESH_AFTER

    services = current_services()
    read = services.quota.refresh() is not None
    services.tasks.schedule_periodic(QUOTA_JOB_ID, REFRESH_AFTER, "bot.jobs.refresh_line_quota")
    return read


def link_rich_menu(line_user_id: str, locale: str | None) -> bool:
    """Link the user to the rich menu of her language; LINE errors that may pass raise, so RQ retries."""
    return current_services().rich_menu_links.link_unless_refused(line_user_id, locale)
