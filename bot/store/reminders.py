"""Reminder tables: a parent's consent with the date reminders count from, and what was sent.

A subscription keeps the baby's birth date and/or the due date only because the parent said
yes to reminders (`consented_at`); "stop", an unfollow or "delete my data" end it. The sent-log
has one row per (user, reminder, occurrence), written in the same transaction as the pending
outbound messages, so a retried or doubled sweep can never send a reminder twice.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utcnow


class ReminderSubscription(Base):
    __tablename__ = "reminder_subscriptions"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    starts_on: Mapped[date] = mapped_column(Date)            # Japan's date of the yes: nothing older is sent
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stop_reason: Mapped[str | None] = mapped_column(String(20))     # user | unfollow
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


# The daily sweep asks, per schedule item, for subscriptions whose date falls in a small window.
Index("ix_reminder_subscriptions_birth", ReminderSubscription.birth_date)
Index("ix_reminder_subscriptions_due", ReminderSubscription.due_date)


class ReminderSent(Base):
    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("user_id", "reminder_id", "occurrence", name="uq_reminder_sent_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reminder_id: Mapped[str] = mapped_column(String(60))
    occurrence: Mapped[str] = mapped_column(String(20))      # the date it counts from: birth:2026-11-10
    send_day: Mapped[date] = mapped_column(Date)             # Japan's date it was written for
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
