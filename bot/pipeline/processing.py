"""The worker's core: drain a user's events in order, handle each once, then deliver."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.content.zawgyi import normalise_event_text
from bot.dialogue.messages import text_message
from bot.dialogue.turn import TurnContext, UserState
from bot.pipeline.delivery import Delivery
from bot.pipeline.events import clean_event, line_user_of, partition_of
from bot.pipeline.faults import dependency_of
from bot.pipeline.loading import LoadingWatch
from bot.ports import PartitionInbox
from bot.store.users import (
    HandledEvent,
    PendingRow,
    TurnUser,
    apply_state,
    get_or_create_user,
    inbound_values,
    insert_processed_event,
    insert_turn_messages,
    outbound_values,
    state_of,
    user_of_new_event,
    was_processed,
)
from handlers import handler_for

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5       # then an event that always fails (a bug, a malformed event) is set aside


class EventProcessor:
    def __init__(self, inbox: PartitionInbox | None, sessions: sessionmaker, delivery: Delivery | None,
                 make_context: Callable[[dict, UserState | None, Session], TurnContext],
                 show_loading: Callable[[str], None] | None = None, loading_after_s: float = 1.0,
                 loading_watch: LoadingWatch | None = None,
                 max_attempts: int = MAX_ATTEMPTS,
                 on_locale_known: Callable[[str, str | None], None] | None = None):
        self._max_attempts = max_attempts
        self._inbox_or_none = inbox            # None in the offline tools (bot/pipeline/offline.py): handle() only
        self._sessions = sessions
        self._delivery_or_none = delivery
        self._make_context = make_context
        self._show_loading = show_loading
        self._loading_watch = loading_watch or (LoadingWatch(show_loading, loading_after_s) if show_loading else None)
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
        locked, raw = self._inbox.lock_and_peek(partition, owner)
        if not locked:
            return 0                    # another drain holds her: it takes what arrives before it lets go
        try:
            while raw is not None:
                self._process_or_set_aside(partition, raw)
                # Only now is the event off the list; the next one is read (the lock extended),
                # or the lock released when none is left, in the same round trip.
                raw = self._inbox.ack_and_next(partition, raw, owner)
                handled += 1
        except BaseException:
            self._inbox.release(partition, owner)
            raise
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
        follow_ups: list = []
        turn = _Recorded()
        self.run_turn(event, follow_ups, turn)
        if turn.event is None:
            self._delivery.deliver_event(event["webhookEventId"])  # handled before a crash: send what is still pending
        else:
            self._delivery.deliver_turn(turn.event, turn.messages)    # just committed: no need to read it back
        for follow_up in follow_ups:
            try:
                follow_up()
            except Exception:  # noqa: BLE001 - a lost notification must not undo a handled turn
                log.exception("a follow-up of a %s event failed", event.get("type"))

    def run_turn(self, event: dict, follow_ups: list | None = None, recorded: _Recorded | None = None) -> list[dict]:
        """Handle an event not handled yet and record the turn, in one transaction; returns the
        messages to send (and, in `recorded`, the rows written, for delivery after the commit).

        No savepoint around the handler: its SAVEPOINT and RELEASE were two statements of every
        turn (issue 17). When the handler fails on a bug, the whole transaction is rolled back
        instead, and a second one records what the savepoint kept: her message, the apology and
        the event, her state as it was.
        """
        event = normalise_event_text(event)        # Zawgyi Burmese → Unicode before triage and storage
        try:
            with self._sessions.begin() as session:
                turn = self._start_turn(session, event)
                if turn is None:
                    return []                       # handled already (`process` delivers what is pending)
                self._run_handler(session, turn)
                return self._record(session, turn, turn.user, follow_ups, recorded)
        except _HandlerFailed as failed:
            with self._sessions.begin() as session:
                turn = failed.turn
                # Her row as it was before the turn (a new user's again: the rollback took it).
                user = get_or_create_user(session, turn.user.line_user_id)[0] if turn.user else None
                return self._record(session, turn, user, follow_ups, recorded)

    def _start_turn(self, session: Session, event: dict) -> _Turn | None:
        """The turn of an event not handled yet, its user read (or inserted); None when it was handled."""
        event_id, line_user_id = event["webhookEventId"], line_user_of(event)
        user, is_new = None, False
        if line_user_id:
            found = user_of_new_event(session, line_user_id, event_id)
            if found is None:
                return None
            user, is_new = found
        elif was_processed(session, event_id):
            return None
        state = state_of(user, is_new) if user else None
        # `locale_before`: the handler changes `state` in place.
        return _Turn(event, user, self._make_context(event, state, session), state.locale if state else None)

    def _run_handler(self, session: Session, turn: _Turn) -> None:
        """Run the handler and write the user's state; a bug raises `_HandlerFailed`, with the apology to send."""
        ctx, user = turn.ctx, turn.user
        try:
            with self._loading_indicator(turn.event, user.line_user_id if user else None):
                handler_for(str(turn.event.get("type")))(ctx)
            if user and ctx.user:
                apply_state(session, user, ctx.user)
            session.flush()     # what the handler left to the ORM: a failure is the handler's, as in a savepoint
        except DBAPIError:
            raise                                   # infrastructure: the job is retried, nothing half-written
        except Exception as exc:
            if dependency_of(exc) is not None:
                raise                               # Redis or another dependency is down: retried, not apologised for
            # A bug or a bad content edit: the user's state stays as it was, they get an apology,
            # and what they wrote is still recorded (`run_turn`).
            log.exception("handler failed for a %s event; user state kept", turn.event.get("type"))
            ctx.outgoing = [text_message(ctx.t("core.error_apology"))] if user else []
            ctx.after_commit = []
            raise _HandlerFailed(turn) from exc

    def _record(self, session: Session, turn: _Turn, user: TurnUser | None, follow_ups: list | None,
                recorded: _Recorded | None) -> list[dict]:
        """Write the turn's messages and its `processed_events` row; returns the messages to send."""
        event, ctx = turn.event, turn.ctx
        event_id = event["webhookEventId"]
        inbound, outbound_rows = None, []
        if user:
            # Without consent only the language is kept: the message is logged without its text.
            consented = ctx.user is not None and ctx.user.consent is True
            inbound = inbound_values(user.id, event, event_id, keep_content=consented)
            outbound_rows = outbound_values(user.id, ctx.outgoing, event_id=event_id)
        outbound = insert_turn_messages(session, inbound, outbound_rows)
        reply_token = event.get("replyToken")
        reply_token = reply_token[:200] if isinstance(reply_token, str) else None
        # The reply attempt is recorded with the turn, before any call: a worker that dies
        # after this commit leaves a retry that probes the token (bot/pipeline/delivery.py).
        processed = insert_processed_event(session, event_id=event_id, event_type=str(event.get("type"))[:40],
                                           partition=partition_of(event), reply_token=reply_token,
                                           event_time=_event_time(event),
                                           reply_attempted=bool(reply_token and outbound))
        if recorded is not None:
            recorded.event, recorded.messages = processed, outbound
        if follow_ups is not None:
            follow_ups.extend(ctx.after_commit)
            follow_ups.extend(self._rich_menu_follow_ups(event, turn.locale_before, ctx.user))
        return ctx.outgoing

    def _rich_menu_follow_ups(self, event: dict, locale_before: str | None, after: UserState | None) -> list:
        """A follow, a first language or a language change: the user's rich menu follows her language."""
        if self._on_locale_known is None or after is None or after.blocked:
            return []
        if event.get("type") != "follow" and locale_before == after.locale:
            return []
        return [lambda: self._on_locale_known(after.line_user_id, after.locale)]

    def _loading_indicator(self, event: dict, line_user_id: str | None):
        if self._loading_watch is None or event.get("type") != "message" or not line_user_id:
            return nullcontext()
        return self._loading_watch.watching(line_user_id)


@dataclass
class _Turn:
    """One event's turn in progress: the user as read (None: an event without one), the handler's context."""
    event: dict
    user: TurnUser | None
    ctx: TurnContext
    locale_before: str | None


class _HandlerFailed(Exception):
    """The handler failed on a bug: the turn's transaction is rolled back, then `turn` recorded with its apology."""

    def __init__(self, turn: _Turn):
        super().__init__("handler failed")
        self.turn = turn


@dataclass
class _Recorded:
    """What a turn wrote for delivery: its processed_events row and its outbound messages."""
    event: HandledEvent | None = None
    messages: list[PendingRow] = field(default_factory=list)


def _event_time(event: dict) -> datetime | None:
    timestamp = event.get("timestamp")
    if not isinstance(timestamp, (int, float)) or timestamp <= 0:
        return None
    try:
        return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
