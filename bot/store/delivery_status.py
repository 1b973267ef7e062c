"""How many answers wait to be sent to LINE, and since when (shown in the inbox)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import Message


@dataclass(frozen=True)
class PendingDeliveries:
    count: int
    oldest_age_s: float | None       # None when nothing is pending

    @property
    def oldest_minutes(self) -> int:
        return int((self.oldest_age_s or 0) // 60)


def pending_deliveries(session: Session, now: datetime) -> PendingDeliveries:
    count, oldest = session.execute(
        select(func.count(Message.id), func.min(Message.created_at))
        .where(Message.direction == "out", Message.delivery_status == "pending")).one()
    if not count or oldest is None:
        return PendingDeliveries(0, None)
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
    return PendingDeliveries(int(count), max(0.0, (now - oldest).total_seconds()))
