"""Announcements: a notice written in Japanese, its reviewed translations and its delivery record.

Delivery is planned once, when sending starts: the recipients of each language are frozen into
numbered batches of at most 500 (LINE's multicast limit), each with its own retry key. A batch
row is marked sent only after LINE accepted it (or answered 409 to its key), so a worker killed
mid-send resumes with the batches still pending and LINE never delivers one twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utcnow

# draft → scheduled → sending → sent; `stopped` when LINE's monthly limit ended the send.
STATUSES = ("draft", "scheduled", "sending", "sent", "stopped")
EDITABLE_STATUSES = ("draft", "scheduled")


class Announcement(Base):
    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))                # for the inbox list only, never sent
    body_ja: Mapped[str] = mapped_column(Text)                      # the Japanese original (sent to `ja` as is)
    # {"locales": [...], "municipalities": [...] (empty: all), "age_bands": [...] (empty: all)}
    segment: Mapped[dict] = mapped_column(JSON, default=dict)
    excluded_locales: Mapped[list] = mapped_column(JSON, default=list)   # chosen, then left out on purpose
    status: Mapped[str] = mapped_column(String(12), default="draft")
    stop_reason: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AnnouncementTranslation(Base):
    """One locale's text: the machine's, its back-translation into Japanese, and what an admin approved."""
    __tablename__ = "announcement_translations"
    __table_args__ = (UniqueConstraint("announcement_id", "locale", name="uq_announcement_translation_locale"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    machine_text: Mapped[str | None] = mapped_column(Text)
    back_translation: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)                   # what is sent: the machine's or the edited text
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), default="pending")   # pending | done | failed | manual
    error: Mapped[str | None] = mapped_column(Text)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("advisors.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class AnnouncementBatch(Base):
    """One multicast call: ≤ 500 recipients of one language, with a retry key of its own."""
    __tablename__ = "announcement_batches"
    __table_args__ = (UniqueConstraint("announcement_id", "locale", "batch_no", name="uq_announcement_batch"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    batch_no: Mapped[int] = mapped_column(Integer)
    # LINE user ids while the batch waits; emptied once it is sent (the count stays).
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    retry_key: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(12), default="pending")   # pending | sent | failed | limit
    error: Mapped[str | None] = mapped_column(Text)
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def forget_recipient(session, line_user_id: str) -> int:
    """"Delete my data": take her LINE id out of batches still waiting (sent ones hold no ids)."""
    from sqlalchemy import select
    waiting = session.scalars(select(AnnouncementBatch).where(AnnouncementBatch.status.in_(("pending", "limit")))).all()
    changed = 0
    for batch in waiting:
        if line_user_id in (batch.recipients or []):
            batch.recipients = [uid for uid in batch.recipients if uid != line_user_id]
            batch.recipient_count = len(batch.recipients)
            changed += 1
    return changed
