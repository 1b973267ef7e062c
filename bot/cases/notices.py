"""Telling advisors about cases (run as RQ jobs, retried on failure)."""
from __future__ import annotations

from datetime import UTC, datetime

from bot.adapters.notify import CaseNotice
from bot.store.models import Case

MAX_ESCALATIONS = 12        # an hour of reminders at 5-minute intervals, then the inbox's red badge


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def notice_for(case: Case, kind: str, base_url: str, now: datetime) -> CaseNotice:
    from bot.inbox.labels import language_label, priority_label, topic_label
    waiting = int((now - _aware(case.created_at)).total_seconds() // 60)
    return CaseNotice(case_id=case.id, kind=kind, priority=case.priority, topic=case.topic, locale=case.locale,
                      waiting_minutes=waiting, link=f"{base_url.rstrip('/')}/inbox/cases/{case.id}",
                      priority_ja=priority_label(case.priority), topic_ja=topic_label(case.topic),
                      language_ja=language_label(case.locale))


def notify_case(services, case_id: int, kind: str, now: datetime) -> int:
    """Send to every configured notifier; raises NotifyError so RQ retries. Returns how many were sent."""
    with services.sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            return 0                     # the user deleted their data in the meantime
        notice = notice_for(case, kind, services.settings.public_base_url, now)
    for notifier in services.notifiers:
        notifier.notify(notice)
    return len(services.notifiers)


def escalate_if_unclaimed(services, case_id: int, now: datetime) -> bool:
    """An urgent case nobody claimed: notify again, and check again after the same interval."""
    with services.sessions.begin() as session:
        case = session.get(Case, case_id)
        if case is None or case.status != "waiting" or case.assigned_advisor_id or case.escalations >= MAX_ESCALATIONS:
            return False
        case.escalations += 1
    notify_case(services, case_id, "escalated", now)
    hours = services.content.current().desk_hours
    services.tasks.enqueue_in(hours.escalate_urgent_after, "bot.jobs.escalate_if_unclaimed", case_id)
    return True
