"""The worker's core: drain a user's events in order, handle each once, then deliver."""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.content.zawgyi import normalise_event_text
from bot.dialogue.messages import text_message
from bot.dialogue.turn import TurnContext, UserState
from bot.pipeline.delivery import Delivery
from bot.pipeline.events import clean_event, line_user_of, partition_of
from bot.pipeline.faults import dependency_of
from bot.ports import PartitionInbox
from bot.store.models import ProcessedEvent
from bot.store.users import apply_state, get_or_create_user, record_inbound, record_outbound, state_of
from handlers import handler_for

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5       # then an event that always fails (a bug, a malformed event) is set aside


class EventProcessor:
    def __init__(self, inbox: PartitionInbox | None, sessions: sessionmaker, delivery: Delivery | None,
                 make_context: Callable[[dict, UserState | None, Session], TurnContext],
                 show_loading: Callable[[str], None] | None = None, loading_after_s: float = 1.0,
                 max_attempts: int = MAX_ATTEMPTS,
                 on_locale_known: Callable[[str, str | None], None] | None = None):
        self._max_attempts = max_attempts
        self._inbox_or_none = inbox            # None in the offline tools (bot/pipeline/offline.py): handle() only
        self._sessions = sessions
        self._delivery_or_none = delivery
        self._make_context = make_context
        self._show_loading = show_loading
        self._loading_after_s = loading_after_s
        self._on_locale_known = on_locale_known

    @property
    def _inbox(self) -> PartitionInbox:
        assert self._inbox_or_none is not None, "this processor was built to handle single events only"
        return self._inbox_or_none

    @property
    def _delivery(self) -> Delivery:
        assert self._delivery_or_none is not None, "this processor was built to handle single events only"
        return self._delivery_or_none

    def drain(self, partition: str) -> int:
        """Handle every waiting event of one user, oldest first; returns how many were handled."""
        handled = 0
        owner = self._inbox.new_owner()
        while self._inbox.acquire(partition, owner):
            try:
                while (raw := self._inbox.peek(partition)) is not None:
                    self._process_or_set_aside(partition, raw)
                    self._inbox.ack(partition, raw)      # only now is the event off the list
                    self._inbox.refresh(partition, owner)
                    handled += 1
            finally:
                self._inbox.release(partition, owner)
            # An event may have arrived between the last peek and the release; its job saw the
            # lock held and left it to us, so look once more.
            if self._inbox.length(partition) == 0:
                break
        return handled

    def _process_or_set_aside(self, partition: str, raw: str) -> None:
        """Handle one event; one that keeps failing on its own is set aside, so the user's next ones go on.

        An outage (database, Redis, LINE, Translation) is never the event's fault: it stays
        first in the list, uncounted, until the dependency is back.
        """
        try:
            # Cleaned again: events stored before the webhook cleaned them must not fail on NUL.
            self.process(clean_event(json.loads(raw)))
        except Exception as exc:
            if dependency_of(exc) is not None:
                raise
            if self._inbox.note_failure(raw) < self._max_attempts:
                raise                                   # retried later; the event stays first
            log.error("event set aside after %d failed attempts (%s); kept in the dead-letter list",
                      self._max_attempts, type(exc).__name__)
            self._inbox.dead_letter(raw, f"{type(exc).__name__}: {exc}"[:500], partition)

    def process(self, event: dict) -> None:
        event_id = event["webhookEventId"]
        follow_ups: list = []
        with self._sessions.begin() as session:
            if session.get(ProcessedEvent, event_id) is None:
                self.handle(session, event, event_id, follow_ups)
        self._delivery.deliver_event(event_id)
        for follow_up in follow_ups:
            try:
                follow_up()
            except Exception:  # noqa: BLE001 - a lost notification must not undo a handled turn
                log.exception("a follow-up of a %s event failed", event.get("type"))

    def handle(self, session: Session, event: dict, event_id: str, follow_ups: list | None = None) -> list[dict]:
        """Run the handler and record the turn in `session`; returns the messages to send."""
        event = normalise_event_text(event)        # Zawgyi Burmese → Unicode before triage and storage
        line_user_id = line_user_of(event)
        user, is_new = get_or_create_user(session, line_user_id) if line_user_id else (None, False)
        state = state_of(user, is_new) if user else None
        locale_before = state.locale if state else None     # the handler changes `state` in place
        ctx = self._make_context(event, state, session)
        try:
            with session.begin_nested():
                with self._loading_indicator(event, line_user_id):
                    handler_for(str(event.get("type")))(ctx)
                if user and ctx.user:
                    apply_state(user, ctx.user)
        except DBAPIError:
            raise                                   # infrastructure: the job is retried, nothing half-written
        except Exception as exc:
            if dependency_of(exc) is not None:
                raise                               # Redis or another dependency is down: retried, not apologised for
            # A bug or a bad content edit: the user's state stays as it was, they get an apology,
            # and what they wrote is still recorded below.
            log.exception("handler failed for a %s event; user state kept", event.get("type"))
            ctx.outgoing = [text_message(ctx.t("core.error_apology"))] if user else []
            ctx.after_commit = []
        if user:
            # Without consent only the language is kept: the message is logged without its text.
            consented = ctx.user is not None and ctx.user.consent is True
            record_inbound(session, user, event, event_id, keep_content=consented)
            record_outbound(session, user.id, ctx.outgoing, event_id=event_id)
        reply_token = event.get("replyToken")
        session.add(ProcessedEvent(event_id=event_id, event_type=str(event.get("type"))[:40],
                                   partition=partition_of(event),
                                   reply_token=reply_token[:200] if isinstance(reply_token, str) else None,
                                   event_time=_event_time(event), reply_attempted=False))
        if follow_ups is not None:
            follow_ups.extend(ctx.after_commit)
            follow_ups.extend(self._rich_menu_follow_ups(event, locale_before, ctx.user))
        return ctx.outgoing

    def _rich_menu_follow_ups(self, event: dict, locale_before: str | None, after: UserState | None) -> list:
        """A follow, a first language or a language change: the user's rich menu follows her language."""
        if self._on_locale_known is None or after is None or after.blocked:
            return []
        if event.get("type") != "follow" and locale_before == after.locale:
            return []
        return [lambda: self._on_locale_known(after.line_user_id, after.locale)]

    def _loading_indicator(self, event: dict, line_user_id: str | None):
        return _LoadingIndicator(self._show_loading if event.get("type") == "message" and line_user_id else None,
                                 line_user_id, self._loading_after_s)


class _LoadingIndicator:
    """Shows LINE's loading animation only when handling takes longer than `after_s`."""

    def __init__(self, show: Callable[[str], None] | None, user_id: str | None, after_s: float):
        self._timer = threading.Timer(after_s, show, (user_id,)) if show else None

    def __enter__(self):
        if self._timer:
            self._timer.daemon = True
            self._timer.start()

    def __exit__(self, *exc):
        if self._timer:
            self._timer.cancel()


def _event_time(event: dict) -> datetime | None:
    timestamp = event.get("timestamp")
    if not isinstance(timestamp, (int, float)) or timestamp <= 0:
        return None
    try:
        return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
