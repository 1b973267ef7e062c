"""RQ job functions. Each is a thin entry that finds the worker's services and delegates."""
from __future__ import annotations

from bot.runtime import current_services
from bot.store.models import utcnow


def drain_partition(partition: str) -> int:
    """Handle the waiting events of one user (or group/room), in order."""
    return current_services().event_processor().drain(partition)


def notify_advisors(case_id: int, kind: str) -> int:
    from bot.cases.notices import notify_case
    return notify_case(current_services(), case_id, kind, utcnow())


def escalate_if_unclaimed(case_id: int) -> bool:
    from bot.cases.notices import escalate_if_unclaimed as escalate
    return escalate(current_services(), case_id, utcnow())


def deliver_messages(message_ids: list[int]) -> None:
    """Push messages that belong to no LINE event (advisor replies), retried by RQ on LINE outages."""
    current_services().delivery.deliver_messages(message_ids)
