"""The parent's side of reminders: yes after a flow, "my reminders", "stop reminders".

Runs inside a turn (the turn's database session), so consent and the date are committed with
the turn's answer. The date is the one she already gave in the flow (birth checklist:
`birth_date`; pregnancy: `due_date`), kept only because she said yes.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content.localformat import format_date
from bot.dialogue.messages import postback_action, text_message
from bot.flows.inputs import normalise
from bot.reminders.messages import reminder_text
from bot.reminders.schedule import Schedule
from bot.store.models import User
from bot.store.reminders import ReminderSent, ReminderSubscription

FLOW_COMMANDS = {"reminders_birth": ("birth_date", "birth"), "reminders_pregnancy": ("due_date", "due")}
LISTED = 5
DUE_DATE_MAX_DAYS = 300          # a due date further away than about 10 months is a typo


class ReminderDesk:
    def __init__(self, session: Session, clock, schedule_source, municipality: str | None = None):
        self._session = session
        self._clock = clock
        self._schedule_source = schedule_source       # () -> Schedule (flows/reminders.yaml, checked)
        self._municipality = municipality

    # ---- entry points ---------------------------------------------------------------------------
    def from_flow(self, ctx, command: str, variables: dict) -> None:
        """She said yes at the end of a flow: keep the date the flow asked for, with her consent."""
        name, basis = FLOW_COMMANDS[command]
        day = _as_date(variables.get(name))
        if day is None or not self._plausible(basis, day):
            ctx.say(text_message(ctx.t("reminders.invalid_due"), quick_replies=[
                postback_action(ctx.t("menu.main"), "cmd:menu")]))
            return
        self._subscribe(ctx.user.line_user_id, basis, day)
        ctx.say(ctx.t("reminders.started", time=self._schedule().send_at.strftime("%H:%M")))
        self.show_upcoming(ctx)

    def on_postback(self, ctx, value: str) -> bool:
        if value == "stop":
            self.stop(ctx.user.line_user_id, "user")
            ctx.say(text_message(ctx.t("reminders.stopped"),
                                 quick_replies=[postback_action(ctx.t("menu.main"), "cmd:menu")]))
        elif value == "list":
            self.show_upcoming(ctx)
        else:
            return False
        return True

    def on_text(self, ctx, text: str) -> bool:
        """Typed "my reminders" / "stop reminders" in any of the 17 languages."""
        typed = normalise(text).casefold().strip(" .!?。！？")
        if typed in _words(ctx.catalog, "reminders.stop_words"):
            return self.on_postback(ctx, "stop")
        if typed in _words(ctx.catalog, "reminders.words"):
            return self.on_postback(ctx, "list")
        return False

    def stop(self, line_user_id: str, reason: str) -> bool:
        subscription = self._subscription(line_user_id)
        if subscription is None or subscription.stopped_at is not None:
            return False
        subscription.stopped_at, subscription.stop_reason = self._clock.now(), reason
        return True

    def show_upcoming(self, ctx) -> None:
        upcoming = self.upcoming(ctx.user.line_user_id)
        menu = [postback_action(ctx.t("menu.main"), "cmd:menu")]
        if not upcoming:
            ctx.say(text_message(ctx.t("reminders.list_empty"), quick_replies=menu))
            return
        lines = [ctx.t("reminders.list_header")]
        lines += [f"📅 {format_date(o.send_day, ctx.locale)}\n{reminder_text(ctx.catalog, ctx.locale, o)}"
                  for o in upcoming]
        ctx.say(text_message("\n\n".join(lines), quick_replies=[
            postback_action(ctx.t("reminders.stop_button"), "rem:stop"), *menu]))

    def upcoming(self, line_user_id: str) -> list:
        """Her next reminders, as the sweep will send them (none when stopped)."""
        subscription = self._subscription(line_user_id)
        if subscription is None or subscription.stopped_at is not None:
            return []
        user = self._session.get(User, subscription.user_id)
        if user is None:                      # erased meanwhile: nothing more goes to her
            return []
        sent = {(r.reminder_id, r.occurrence) for r in self._session.execute(
            select(ReminderSent.reminder_id, ReminderSent.occurrence).where(ReminderSent.user_id == user.id))}
        today = self._clock.today()
        schedule = self._schedule()
        found = [o for o in schedule.for_dates(subscription.birth_date, subscription.due_date,
                                               user.municipality or self._municipality)
                 if o.send_day >= max(today, subscription.starts_on) and (o.reminder.id, o.key) not in sent]
        return found[:LISTED]

    # ---- pieces ---------------------------------------------------------------------------------
    def _schedule(self) -> Schedule:
        return self._schedule_source()

    def _subscription(self, line_user_id: str) -> ReminderSubscription | None:
        return self._session.scalar(select(ReminderSubscription).join(User, User.id == ReminderSubscription.user_id)
                                    .where(User.line_user_id == line_user_id))

    def _subscribe(self, line_user_id: str, basis: str, day: date) -> None:
        user = self._session.scalar(select(User).where(User.line_user_id == line_user_id))
        if user is None:                       # the turn creates the user first; a guard for tools
            return
        subscription = self._session.get(ReminderSubscription, user.id)
        if subscription is None:
            subscription = ReminderSubscription(user_id=user.id)
            self._session.add(subscription)
        if basis == "birth":
            subscription.birth_date = day
        else:
            subscription.due_date = day
        subscription.consented_at = self._clock.now()
        subscription.starts_on = self._clock.today()
        subscription.stopped_at = subscription.stop_reason = None

    def _plausible(self, basis: str, day: date) -> bool:
        today = self._clock.today()
        if basis == "due":
            return today - timedelta(days=14) <= day <= today + timedelta(days=DUE_DATE_MAX_DAYS)
        return today - timedelta(days=3 * 366) <= day <= today


def _words(catalog, key: str) -> frozenset[str]:
    return catalog.word_set(key, _casefolded)        # made once per catalog, not on every text


def _casefolded(word: str) -> str:
    return normalise(word).casefold()


def _as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
