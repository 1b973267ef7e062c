"""Sending stored outbound messages to LINE: reply token while fresh, else push with a retry key.

Policy (DESIGN.md, LINE platform rules): the reply token carries the first batch while it is
under `reply_token_max_age_s` old. After a crash during a reply, the retry asks with the same
token once more: LINE answers "invalid reply token" only if the first call used it (it is still
fresh), which tells us the answer was delivered; any other failure falls back to push.
Pushes carry a deterministic X-Line-Retry-Key; 409 means LINE already has it. 429, 5xx and
timeouts are retried with exponential backoff; other 4xx are recorded as failed with LINE's text.
A 429 "You have reached your monthly limit." is no rate limit: the batch is recorded as
MONTHLY_LIMIT_ERROR at once (no backoff, no retry) and `on_monthly_limit` tells the admins.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import groupby

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.ports import Messenger, SendResult
from bot.store.direct import DirectStatement, execute_alone
from bot.store.models import MESSAGES, Message, ProcessedEvent, User
from bot.store.users import HandledEvent, PendingRow

log = logging.getLogger(__name__)
MONTHLY_LIMIT_ERROR = "not sent: monthly limit"
EventRow = ProcessedEvent | HandledEvent      # loaded (a retry, the sweep) or just inserted by the turn
OutRow = Message | PendingRow


@cache
def _mark_batch(size: int) -> DirectStatement:
    """A batch's delivery status, for every send: built once per batch size (an expanding IN is
    rewritten at every execution) and run on the cursor (issue 17); SET is the keys given."""
    return DirectStatement(update(MESSAGES).where(MESSAGES.c.id.in_([bindparam(f"id{i}") for i in range(size)])))


class DeliveryPendingError(Exception):
    """LINE kept failing with retryable errors; the job is retried later, nothing is lost."""


class Delivery:
    """`stop` (set on SIGTERM) ends backoff at once: what is unsent stays pending for later.

    While LINE is known to be down (a push failed every attempt less than `outage_memory_s`
    ago) each push is tried once, without backoff: the worker keeps handling other users'
    turns instead of sleeping, and the sweep sends the answers once LINE is back.
    """

    def __init__(self, sessions: sessionmaker, messenger: Messenger, *, reply_token_max_age_s: float = 50.0,
                 max_attempts: int = 5, backoff_base_s: float = 0.5,
                 sleep: Callable[[float], None] | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 stop: threading.Event | None = None, outage_memory_s: float = 30.0,
                 on_monthly_limit: Callable[[], None] | None = None):
        self._sessions = sessions
        self._messenger = messenger
        self._reply_max_age = reply_token_max_age_s
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_s
        self._stop = stop or threading.Event()
        self._sleep = sleep or self._stop.wait
        self._now = now
        self._outage_memory_s = outage_memory_s
        self._line_down_at: float | None = None
        self._on_monthly_limit = on_monthly_limit

    def deliver_event(self, event_id: str) -> None:
        """Send what is still pending for an event handled earlier (a retry, the sweep)."""
        with self._sessions() as session:
            event = session.get(ProcessedEvent, event_id)
            pending = _pending(session, Message.event_id == event_id)
        if event is None or not pending:
            return
        self._deliver(event, pending, reply_attempted=event.reply_attempted)

    def deliver_turn(self, event: EventRow, rows: Sequence[OutRow]) -> None:
        """Send the messages of a turn this process has just committed, without reading them back.

        The turn's transaction already marked the reply attempt (`reply_attempted`), so a retry
        after a crash from here on probes the token as before; no call was made yet in this
        process, so an "invalid reply token" now is LINE's verdict on the token, not on a repeat.
        """
        pending = sorted((r for r in rows if r.delivery_status == "pending"), key=lambda r: (r.batch_index or 0, r.id))
        if pending:
            self._deliver(event, pending, reply_attempted=False)

    def _deliver(self, event: EventRow, pending: Sequence[OutRow], reply_attempted: bool) -> None:
        for batch_index, group in groupby(pending, key=lambda r: r.batch_index or 0):
            rows = list(group)
            result = self._send_event_batch(event, batch_index, rows, reply_attempted)
            self._record(rows, result)

    def deliver_messages(self, message_ids: list[int], by_reply: bool = True) -> SendResult | None:
        """Send messages that belong to no event (an advisor's reply): by the user's unused reply
        token while it is fresh (free), otherwise by push. `by_reply=False`: push only (reminders,
        which skip the reply-token lookup: thousands a day)."""
        with self._sessions() as session:
            rows = _pending(session, Message.id.in_(message_ids))
            targets = {r.id: session.get(User, r.user_id).line_user_id for r in rows}
        result = None
        for _, group in groupby(rows, key=lambda r: r.retry_key):
            batch = list(group)
            to = targets[batch[0].id]
            result = (self._reply_with_unused_token(to, batch) if by_reply else None) or self._push(to, batch)
            self._record(batch, result)
        return result

    def _reply_with_unused_token(self, line_user_id: str, rows: Sequence[OutRow]) -> SendResult | None:
        """The user wrote under 50 s ago and the bot sent nothing for it (an open case takes the
        message silently): that reply token is still unused, and a reply costs no quota."""
        with self._sessions() as session:
            event = _latest_unused_reply_event(session, line_user_id)
        if event is None or not event.reply_token or not self._reply_token_fresh(event):
            return None
        self._note_reply_attempt(event.event_id)
        result = self._messenger.reply(event.reply_token, _payloads(rows))
        if result.delivered:
            return result
        log.info("reply with the user's unused token failed (%s), falling back to push", result.error)
        return None

    def _send_event_batch(self, event: EventRow, batch_index: int, rows: Sequence[OutRow],
                          attempted_before: bool) -> SendResult:
        if batch_index == 0 and event.reply_token and self._reply_token_fresh(event):
            if not event.reply_attempted:
                self._note_reply_attempt(event.event_id)
            result = self._messenger.reply(event.reply_token, _payloads(rows))
            if result.status == "invalid_token" and attempted_before:
                # The worker died during an earlier reply with this token. LINE refuses a token
                # only once it is used (it is still fresh), so that earlier reply was delivered:
                # pushing now would send the answer twice.
                return SendResult("sent", result.http_status, "delivered by an interrupted earlier attempt")
            if result.status not in {"invalid_token", "retryable"}:
                return result
            log.info("reply failed (%s), falling back to push", result.error)
        return self._push(event.partition, rows)

    def _reply_token_fresh(self, event: EventRow) -> bool:
        if not event.reply_token or event.event_time is None:
            return False
        event_time = event.event_time if event.event_time.tzinfo else event.event_time.replace(tzinfo=UTC)
        return (self._now() - event_time).total_seconds() < self._reply_max_age

    def _note_reply_attempt(self, event_id: str) -> None:
        # Written before the call: if the worker dies during it, the token may be spent, so a
        # retry must push instead of replying again.
        with self._sessions.begin() as session:
            session.get(ProcessedEvent, event_id).reply_attempted = True

    def _push(self, to: str, rows: Sequence[OutRow]) -> SendResult:
        messages = _payloads(rows)
        result = SendResult("retryable", None, "not sent")
        attempts = 1 if self._line_known_down() else self._max_attempts
        for attempt in range(attempts):
            result = self._messenger.push(to, messages, rows[0].retry_key or "")
            if result.status != "retryable":
                self._line_down_at = None
                return result
            if attempt + 1 == attempts or self._stop.is_set():
                break
            delay = self._backoff_base * (2 ** attempt) * (1 + random.random() / 4)
            log.warning("LINE push retryable (%s); attempt %d, next in %.1fs", result.error, attempt + 1, delay)
            if self._sleep(delay):
                break                      # stop requested: leave it pending
        self._line_down_at = time.monotonic()
        return result

    def _line_known_down(self) -> bool:
        return self._line_down_at is not None and time.monotonic() - self._line_down_at < self._outage_memory_s

    def deliver_stale(self, older_than_s: float, skip_partitions: set[str], limit: int = 500) -> int:
        """The sweep: send pending messages older than `older_than_s` (retry keys make it once).

        Messages of a chat with waiting events are left to that chat's drain, which keeps
        their order. Stops at the first LINE failure (still down); returns the messages sent.
        """
        cutoff = self._now() - timedelta(seconds=older_than_s)
        with self._sessions() as session:
            rows = session.execute(
                select(Message.id, Message.event_id, User.line_user_id).join(User, User.id == Message.user_id)
                .where(Message.direction == "out", Message.delivery_status == "pending", Message.created_at < cutoff,
                       # reminders are retried by their own sweep, in daytime only (bot/reminders/sweep.py)
                       Message.event_id.is_(None) | Message.event_id.not_like("rem:%"))
                .order_by(Message.id).limit(limit)).all()
        sent = 0
        for event_id in dict.fromkeys(r.event_id for r in rows if r.event_id and r.line_user_id not in skip_partitions):
            self.deliver_event(event_id)
            sent += sum(1 for r in rows if r.event_id == event_id)
        loose = [r.id for r in rows if r.event_id is None]
        if loose:
            self.deliver_messages(loose)
            sent += len(loose)
        return sent

    def _record(self, rows: Sequence[OutRow], result: SendResult) -> None:
        if result.delivered:
            status, error, sent_at = "sent", None, self._now()
        elif result.status == "retryable":
            status, error, sent_at = "pending", result.error, None
        else:
            status, error, sent_at = "failed", _failure_text(result), None
        values = {"delivery_status": status, "delivery_error": error, **({"sent_at": sent_at} if sent_at else {})}
        # One UPDATE for the batch, nothing read back, committed as it runs: a Session and the
        # ORM's UPDATE machinery, then BEGIN and COMMIT, cost more CPU than the statement (issue 17).
        ids = {f"id{i}": row.id for i, row in enumerate(rows)}
        execute_alone(self._sessions.kw["bind"], _mark_batch(len(rows)), {**ids, **values})
        if result.status == "monthly_limit":
            self._monthly_limit_reached()
        if result.status == "retryable":
            raise DeliveryPendingError(result.error or "LINE unavailable")


    def _monthly_limit_reached(self) -> None:
        log.error("LINE refused a push: the monthly message limit is spent; messages are kept as '%s'",
                  MONTHLY_LIMIT_ERROR)
        if self._on_monthly_limit is not None:
            self._on_monthly_limit()


def _failure_text(result: SendResult) -> str:
    if result.status == "monthly_limit":
        return MONTHLY_LIMIT_ERROR
    return result.error or f"HTTP {result.http_status}"


def _latest_unused_reply_event(session: Session, line_user_id: str) -> ProcessedEvent | None:
    event = session.scalar(select(ProcessedEvent)
                           .where(ProcessedEvent.partition == line_user_id, ProcessedEvent.reply_token.is_not(None))
                           .order_by(ProcessedEvent.event_time.desc()).limit(1))
    if event is None or event.reply_attempted:
        return None
    answered = session.scalar(select(Message.id).where(Message.event_id == event.event_id,
                                                       Message.direction == "out").limit(1))
    return None if answered else event


def _payloads(rows: Sequence[OutRow]) -> list[dict]:
    """The LINE message objects of outbound rows (every outbound row has one)."""
    return [r.payload for r in rows if r.payload is not None]


def _pending(session: Session, condition) -> list[Message]:
    query = (select(Message).where(condition, Message.direction == "out", Message.delivery_status == "pending")
             .order_by(Message.batch_index, Message.id))
    return list(session.scalars(query))
