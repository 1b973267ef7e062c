"""Sending an announcement: plan the batches once, then multicast each exactly once.

Planning (one transaction, the announcement row locked) freezes the recipients of each language
into batches of ≤ 500 with retry keys derived from (announcement, locale, batch number). Sending
takes the pending batches in order; each is marked sent in its own transaction right after LINE
accepted it. A worker killed between LINE's answer and that commit leaves the batch pending: the
next run sends it again with the same key, LINE answers 409, and the batch counts as sent.

Just before its call a batch drops anyone who meanwhile unfollowed, withdrew consent or deleted
her data; a sent batch forgets its LINE ids (the count stays for the report).
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.announce.drafts import readiness, text_for, translations
from bot.announce.segment import Audience, Segment
from bot.ports import Clock, SendResult
from bot.store.announcements import Announcement, AnnouncementBatch
from bot.store.models import AuditEntry, User

log = logging.getLogger(__name__)

RETRY_KEY_NAMESPACE = uuid.UUID("0c5b1d0e-7a43-4f51-9d1c-2b6e8f3a9e16")
BATCH_SIZE = 500                         # LINE's multicast limit
RETRY_KEY_LIFETIME = timedelta(hours=23)  # LINE keeps a retry key 24 h; after that a resend could deliver twice
MONTHLY_LIMIT = "monthly_limit"


class Multicaster(Protocol):
    def multicast(self, to: list[str], messages: list[dict], retry_key: str) -> SendResult: ...


class AnnouncementPendingError(Exception):
    """LINE did not answer (5xx, rate limit, timeout) after every attempt: the job is retried later."""


def retry_key_for(announcement_id: int, locale: str, batch_no: int) -> str:
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"announcement:{announcement_id}:{locale}:{batch_no}"))


@dataclass
class SendPolicy:
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    stop: threading.Event | None = None


class AnnouncementSender:
    def __init__(self, sessions, multicaster: Multicaster, audience: Audience, clock: Clock,
                 messages_for: Callable[[str, str], list[dict]], on_monthly_limit: Callable[[], None] = lambda: None,
                 policy: SendPolicy | None = None, on_progress: Callable[[], None] = lambda: None):
        self._on_progress = on_progress         # after each batch (the job renews its lease)
        self._sessions = sessions
        self._line = multicaster
        self._audience = audience
        self._clock = clock
        self._messages_for = messages_for       # (locale, text) → LINE message objects
        self._on_monthly_limit = on_monthly_limit
        self._policy = policy or SendPolicy()

    def run(self, announcement_id: int) -> str:
        """Start (or resume) and send every pending batch; returns the announcement's status."""
        status = self._start(announcement_id)
        if status != "sending":
            return status
        texts = self._texts(announcement_id)
        for batch_id in self._pending_batch_ids(announcement_id):
            if self._send_batch(batch_id, texts) == MONTHLY_LIMIT:
                return self._stop_for_limit(announcement_id)
            self._on_progress()
        return self._finish(announcement_id)

    # ---- planning -------------------------------------------------------------------------------------
    def _start(self, announcement_id: int) -> str:
        now = self._clock.now()
        with self._sessions.begin() as session:
            announcement = session.scalar(select(Announcement).where(Announcement.id == announcement_id)
                                          .with_for_update())
            if announcement is None:
                return "missing"
            due = announcement.scheduled_at is None or _aware(announcement.scheduled_at) <= now
            if announcement.status == "scheduled" and due:
                plan_batches(session, announcement, self._audience)
                announcement.status, announcement.started_at = "sending", now
                session.add(AuditEntry(advisor_id=None, action="announce.start",
                                       target=f"announcement:{announcement.id}",
                                       detail={"recipients": planned_recipients(session, announcement.id)}))
            return announcement.status if announcement.status != "scheduled" else "not_due"

    def _texts(self, announcement_id: int) -> dict[str, str]:
        with self._sessions() as session:
            announcement = session.get(Announcement, announcement_id)
            rows = translations(session, announcement_id)
            locales = session.scalars(select(AnnouncementBatch.locale).distinct()
                                      .where(AnnouncementBatch.announcement_id == announcement_id)).all()
            return {locale: text_for(announcement, rows, locale) for locale in locales}

    def _pending_batch_ids(self, announcement_id: int) -> list[int]:
        with self._sessions() as session:
            return list(session.scalars(select(AnnouncementBatch.id).where(
                AnnouncementBatch.announcement_id == announcement_id, AnnouncementBatch.status == "pending")
                .order_by(AnnouncementBatch.locale, AnnouncementBatch.batch_no)))

    # ---- one batch ------------------------------------------------------------------------------------
    def _send_batch(self, batch_id: int, texts: dict[str, str]) -> str:
        to, batch = self._prepare(batch_id)
        if batch is None:
            return "skipped"
        if not to:
            return self._record(batch_id, "sent", 0, None)
        messages = self._messages_for(batch.locale, texts[batch.locale])
        result = self._multicast_with_backoff(to, messages, batch.retry_key)
        if result.delivered:
            return self._record(batch_id, "sent", len(to), None)
        if result.status == "monthly_limit":
            self._record(batch_id, "limit", len(to), result.error, keep_recipients=True)
            return MONTHLY_LIMIT
        if result.status == "retryable":
            raise AnnouncementPendingError(result.error or "LINE did not answer")
        return self._record(batch_id, "failed", len(to), result.error)

    def _prepare(self, batch_id: int) -> tuple[list[str], AnnouncementBatch | None]:
        """The batch's recipients who may still get it; notes the first attempt (for the key's lifetime)."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            batch = session.get(AnnouncementBatch, batch_id)
            if batch is None or batch.status != "pending":
                return [], None
            if batch.first_attempt_at and now - _aware(batch.first_attempt_at) > RETRY_KEY_LIFETIME:
                # LINE has forgotten the key: resending could deliver twice. Say so instead.
                batch.status = "failed"
                batch.error = "not known whether it arrived: the retry key expired before LINE answered"
                return [], None
            batch.first_attempt_at = batch.first_attempt_at or now
            still = set(session.scalars(select(User.line_user_id).where(
                User.line_user_id.in_(batch.recipients), User.consent.is_(True), User.blocked.is_(False))))
            return [uid for uid in batch.recipients if uid in still], batch

    def _multicast_with_backoff(self, to: list[str], messages: list[dict], retry_key: str) -> SendResult:
        policy = self._policy
        result = SendResult("retryable", None, "not tried")
        for attempt in range(policy.max_attempts):
            result = self._line.multicast(to, messages, retry_key)
            if result.status != "retryable":
                return result
            if policy.stop is not None and policy.stop.wait(policy.backoff_base_s * 2 ** attempt):
                break       # the worker is stopping: the batch stays pending for the next run
        return result

    def _record(self, batch_id: int, status: str, count: int, error: str | None, keep_recipients: bool = False) -> str:
        with self._sessions.begin() as session:
            batch = session.get(AnnouncementBatch, batch_id)
            batch.status, batch.error, batch.recipient_count = status, error, count
            if status == "sent":
                batch.sent_at = self._clock.now()
            if not keep_recipients:
                batch.recipients = []
        return status

    # ---- the end --------------------------------------------------------------------------------------
    def _stop_for_limit(self, announcement_id: int) -> str:
        with self._sessions.begin() as session:
            announcement = session.get(Announcement, announcement_id)
            announcement.status, announcement.stop_reason = "stopped", MONTHLY_LIMIT
            session.add(AuditEntry(advisor_id=None, action="announce.stopped", target=f"announcement:{announcement_id}",
                                   detail={"reason": MONTHLY_LIMIT}))
        self._on_monthly_limit()
        return "stopped"

    def _finish(self, announcement_id: int) -> str:
        with self._sessions.begin() as session:
            announcement = session.get(Announcement, announcement_id)
            if announcement.status == "sending":
                announcement.status, announcement.finished_at = "sent", self._clock.now()
                report = {k: v.as_dict() for k, v in delivery_report(session, announcement_id).items()}
                session.add(AuditEntry(advisor_id=None, action="announce.sent",
                                       target=f"announcement:{announcement_id}", detail={"report": report}))
            return announcement.status


def plan_batches(session: Session, announcement: Announcement, audience: Audience) -> int:
    """Freeze the recipients into numbered batches per language (once: a second call adds nothing)."""
    exists = session.scalar(select(func.count()).select_from(AnnouncementBatch)
                            .where(AnnouncementBatch.announcement_id == announcement.id))
    if exists:
        return 0
    locales = readiness(session, announcement).ready
    by_locale: dict[str, list[str]] = {}
    for line_user_id, locale in audience.recipients(session, Segment.from_dict(announcement.segment), locales):
        by_locale.setdefault(locale, []).append(line_user_id)
    created = 0
    for locale in sorted(by_locale):
        users = by_locale[locale]
        for batch_no, start in enumerate(range(0, len(users), BATCH_SIZE)):
            chunk = users[start:start + BATCH_SIZE]
            session.add(AnnouncementBatch(announcement_id=announcement.id, locale=locale, batch_no=batch_no,
                                          recipients=chunk, recipient_count=len(chunk), status="pending",
                                          retry_key=retry_key_for(announcement.id, locale, batch_no)))
            created += 1
    session.flush()
    return created


def planned_recipients(session: Session, announcement_id: int) -> int:
    return session.scalar(select(func.coalesce(func.sum(AnnouncementBatch.recipient_count), 0))
                          .where(AnnouncementBatch.announcement_id == announcement_id)) or 0


def reopen_stopped_batches(session: Session, announcement_id: int) -> None:
    session.execute(update(AnnouncementBatch).where(AnnouncementBatch.announcement_id == announcement_id,
                                                    AnnouncementBatch.status == "limit")
                    .values(status="pending", error=None, first_attempt_at=None))


@dataclass
class LocaleReport:
    batches: int = 0
    batches_sent: int = 0
    batches_failed: int = 0
    batches_waiting: int = 0           # pending, or stopped by the monthly limit
    recipients_sent: int = 0
    recipients_failed: int = 0
    recipients_waiting: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def delivery_report(session: Session, announcement_id: int) -> dict[str, LocaleReport]:
    """Per language: batches and recipients sent, failed and still waiting."""
    rows = session.execute(select(AnnouncementBatch.locale, AnnouncementBatch.status, func.count(),
                                  func.sum(AnnouncementBatch.recipient_count))
                           .where(AnnouncementBatch.announcement_id == announcement_id)
                           .group_by(AnnouncementBatch.locale, AnnouncementBatch.status)).all()
    report: dict[str, LocaleReport] = {}
    for locale, status, batches, recipients in rows:
        entry = report.setdefault(locale, LocaleReport())
        entry.batches += batches
        kind = {"sent": "sent", "failed": "failed"}.get(status, "waiting")
        setattr(entry, f"batches_{kind}", getattr(entry, f"batches_{kind}") + batches)
        setattr(entry, f"recipients_{kind}", getattr(entry, f"recipients_{kind}") + int(recipients or 0))
    return dict(sorted(report.items()))


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes (UTC as stored); PostgreSQL aware ones.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
