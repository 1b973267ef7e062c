"""Ports: what the application needs from the outside world, as small protocols.

Adapters in bot/adapters implement them with real technology (line-bot-sdk, Redis/RQ,
SQLAlchemy, Google Cloud Translation); tests use the same adapters against local servers.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.adapters.notify import CaseNotice
    from bot.dialogue.classifier import Scores


class QueueUnavailableError(Exception):
    """The event queue could not take the events; the webhook answers 503 so LINE redelivers."""


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str
    language: str | None = None
    picture_url: str | None = None


@dataclass(frozen=True)
class SendResult:
    """Outcome of one call to LINE. `status`: sent | duplicate | retryable | invalid_token | monthly_limit | failed."""
    status: str
    http_status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status in {"sent", "duplicate"}


class Messenger(Protocol):
    def reply(self, reply_token: str, messages: list[dict]) -> SendResult: ...
    def push(self, to: str, messages: list[dict], retry_key: str) -> SendResult: ...
    def get_profile(self, user_id: str) -> Profile | None: ...
    def show_loading(self, user_id: str, seconds: int) -> None: ...
    def mark_as_read(self, mark_as_read_token: str) -> None: ...


class EventQueue(Protocol):
    def enqueue(self, events: list[dict]) -> int:
        """Store events durably and schedule their processing; returns how many were new."""
    def ping(self) -> bool: ...


class PartitionInbox(Protocol):
    """Each user's waiting events in order, drained under a per-user lock (bot/adapters/redis_queue.py)."""
    def new_owner(self) -> str: ...
    def lock_and_peek(self, partition: str, owner: str) -> tuple[bool, str | None]: ...
    def ack_and_next(self, partition: str, raw: str, owner: str) -> str | None: ...
    def release(self, partition: str, owner: str) -> None: ...
    def length(self, partition: str) -> int: ...
    def note_failure(self, raw: str) -> int: ...
    def dead_letter(self, raw: str, reason: str, partition: str | None = None) -> None: ...


class Translator(Protocol):
    def translate(self, text: str, target: str, source: str | None = None) -> Translation: ...


@dataclass(frozen=True)
class Translation:
    text: str
    source: str | None
    target: str
    translated: bool           # False: the original is shown (offline backend or a failure)
    error: str | None = None


class Clock(Protocol):
    """Time as people in Japan live it. Store `now()` (UTC); show `today()` and `local(...)`."""
    @property
    def zone(self) -> tzinfo: ...

    def now(self) -> datetime:
        """This moment, timezone-aware, in UTC (what the database stores)."""
    def today(self) -> date:
        """Today's date where the parents and advisors are (Asia/Tokyo unless configured)."""
    def local(self, moment: datetime) -> datetime:
        """`moment` (aware, or naive UTC as SQLite returns it) on the local wall clock."""


class LiveFeed(Protocol):
    """Tells open inbox pages what changed (a new case, a message, an escalation) within a second."""
    def publish(self, kind: str, case_id: int, **data) -> None: ...


class TaskQueue(Protocol):
    """Background jobs with retries (notifications, escalations, erasure, inbox translations)."""
    def enqueue(self, function_path: str, *args: Any) -> None: ...
    def enqueue_in(self, delay: timedelta, function_path: str, *args: Any, job_id: str | None = None) -> None: ...


class Notifier(Protocol):
    """Tells the advisors' team outside the inbox (e-mail, a chat webhook)."""
    def notify(self, notice: CaseNotice) -> None: ...
    def alert(self, subject: str, body: str) -> None: ...


class Classifier(Protocol):
    """Probabilities per label family (triage level, entry...) for a message; see bot/dialogue/classifier.py."""
    def predict(self, text: str, signals: Iterable[str] = ()) -> dict[str, Scores]: ...
