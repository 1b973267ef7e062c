"""Database tables. Every inbound and outbound message is kept here, never only in Redis."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    profile_language: Mapped[str | None] = mapped_column(String(35))
    locale: Mapped[str | None] = mapped_column(String(16))
    locale_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    municipality: Mapped[str | None] = mapped_column(String(64))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[bool | None] = mapped_column(Boolean)          # None: not asked yet; False: declined
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))           # in | out
    sender: Mapped[str] = mapped_column(String(10))             # user | bot | advisor
    kind: Mapped[str] = mapped_column(String(20))               # text, image, sticker, postback, flex...
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict | None] = mapped_column(JSON)          # the LINE message object sent or received
    event_id: Mapped[str | None] = mapped_column(String(64), index=True)
    line_message_id: Mapped[str | None] = mapped_column(String(64))
    batch_index: Mapped[int | None] = mapped_column(Integer)    # which LINE API call of the event carries it
    delivery_status: Mapped[str | None] = mapped_column(String(12))  # pending | sent | failed
    delivery_error: Mapped[str | None] = mapped_column(Text)
    retry_key: Mapped[str | None] = mapped_column(String(36))
    advisor_id: Mapped[int | None] = mapped_column(Integer)            # who wrote it, for advisor messages
    translation: Mapped[str | None] = mapped_column(Text)              # Japanese for the inbox, or the sent translation
    translation_source: Mapped[str | None] = mapped_column(Text)       # an advisor's Japanese original
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("ix_messages_user_created", Message.user_id, Message.created_at)


class ProcessedEvent(Base):
    """One row per handled webhook event: handling is committed once, delivery may be retried."""
    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    partition: Mapped[str] = mapped_column(String(80))
    reply_token: Mapped[str | None] = mapped_column(String(200))
    event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply_attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Conversation(Base):
    """Where a user is in a flow. Written in the same transaction as the messages of a turn."""
    __tablename__ = "conversations"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    flow_id: Mapped[str | None] = mapped_column(String(80))
    step_id: Mapped[str | None] = mapped_column(String(80))
    variables: Mapped[dict] = mapped_column(JSON, default=dict)
    misses: Mapped[int] = mapped_column(Integer, default=0)     # index answers not found in a row
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Advisor(Base):
    __tablename__ = "advisors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # What parents see as the sender on LINE (Latin script, ≤ 20 characters): most cannot read kanji.
    display_name_latin: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default="advisor")        # advisor | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Case(Base):
    """A conversation handed to a person. Status: waiting → assigned → waiting_user → resolved."""
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SET NULL: when a user deletes their data the case stays as an anonymous count for statistics.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))      # urgent | high | normal
    priority_rank: Mapped[int] = mapped_column(Integer)    # 0 urgent, 1 high, 2 normal: sorts the queue
    status: Mapped[str] = mapped_column(String(15), default="waiting")
    reason: Mapped[str | None] = mapped_column(String(200))
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)   # a retried job opens it once
    user_engaged: Mapped[bool] = mapped_column(Boolean, default=True)  # the user's messages go to the case
    assigned_advisor_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id", ondelete="SET NULL"))
    out_of_hours_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))   # last "we have your message"
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("ix_cases_queue", Case.status, Case.priority_rank, Case.created_at)


class CaseNote(Base):
    __tablename__ = "case_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("advisors.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Question(Base):
    """A free-text question the index handled: what admins need to improve answers."""
    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(15))       # answered | suggested | not_found | not_helpful
    entry_id: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class RetentionRun(Base):
    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    messages_deleted: Mapped[int] = mapped_column(Integer, default=0)
    cases_deleted: Mapped[int] = mapped_column(Integer, default=0)
    questions_deleted: Mapped[int] = mapped_column(Integer, default=0)
    translations_deleted: Mapped[int] = mapped_column(Integer, default=0)


# The tables the worker's turn writes with Core statements (no unit of work: issue 17).
USERS = cast(Table, User.__table__)
CONVERSATIONS = cast(Table, Conversation.__table__)
CASES = cast(Table, Case.__table__)
MESSAGES = cast(Table, Message.__table__)
PROCESSED_EVENTS = cast(Table, ProcessedEvent.__table__)
QUESTIONS = cast(Table, Question.__table__)

# Reminder tables live in their own module; imported here so Base.metadata knows every table.
from bot.store import reminders as _reminders  # noqa: E402,F401
