"""Database tables. Every inbound and outbound message is kept here, never only in Redis."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
