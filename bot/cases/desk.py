"""The case desk: opening cases, routing the user's messages to them, telling the user what happens."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.cases.hours import DeskHours
from bot.dialogue.messages import postback_action, text_message
from bot.dialogue.turn import TurnContext
from bot.ports import LiveFeed, TaskQueue
from bot.store.cases import OPEN_STATUSES, open_or_last_resolved_case_id
from bot.store.models import AuditEntry, Case
from bot.store.users import TurnUser, user_by_line_id

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2}
TOPICS = ("visa", "medical", "pregnancy", "childcare", "money", "legal", "violence", "living")
ACK_EVERY = timedelta(minutes=10)        # "our team has your message", at most this often per case
_OPEN_CASE = (select(Case).where(Case.user_id == bindparam("owner"), Case.status.in_(OPEN_STATUSES))
              .order_by(Case.id.desc()).limit(1))
# Asked for every text, and most users have no case: the id alone (read with the user's row by
# the turn's SELECT, else by Core, a statement built once), the ORM's Case only when there is one
# (issue 17).
_OPEN_OR_LAST_RESOLVED_ID = open_or_last_resolved_case_id(bindparam("owner"))
SAFETY_LEVELS = ("emergency", "crisis")        # always an escalation, even when the case is urgent already
ESCALATE_ACTION = "case.escalate"              # audit entry: counts in the dashboard, marks the message


@dataclass(frozen=True)
class Receipt:
    """A user's message taken by a case: `reopened` when it brought a resolved case back."""
    case: Case
    reopened: bool = False


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


class CaseDesk:
    def __init__(self, session: Session, hours: DeskHours, now: Callable[[], datetime], tasks: TaskQueue | None = None,
                 live: LiveFeed | None = None):
        self._session = session
        self._hours = hours
        self._now = now
        self._tasks = tasks              # TaskQueue port: notifications and escalations (None offline)
        self._live = live                # LiveFeed port: open inbox pages (None offline)

    @classmethod
    def build(cls, settings, session, content, now, extra):
        if not getattr(content, "desk_hours", None):
            return None
        return cls(session, content.desk_hours, now, extra.get("tasks"), extra.get("live"))

    # ---- queries --------------------------------------------------------------------------
    def _user(self, ctx: TurnContext) -> TurnUser:
        user = user_by_line_id(self._session, ctx.known_user.line_user_id)
        if user is None:
            raise LookupError("the turn's user is not in the database")
        return user

    def open_case_of(self, user: TurnUser) -> Case | None:
        read = user.take_case_id()
        if read is None:
            return self._session.scalar(_OPEN_CASE, {"owner": user.id})
        # The open case sorts first in the turn's pick, newest first as here: a resolved one
        # there means she has no open case.
        case = self._session.get(Case, read.value) if read.value is not None else None
        return case if case is not None and case.status in OPEN_STATUSES else None

    def _open_or_last_resolved(self, user: TurnUser) -> Case | None:
        """The open case, else the latest resolved one: one query for what `open_case_of` and a
        second query for the resolved case used to ask (most users have neither)."""
        read = user.take_case_id()       # the turn's first look: nothing changed a case before it
        if read is not None:
            case_id = read.value
        else:
            self._session.flush()        # as the ORM query's autoflush did: a case changed earlier in the turn
            case_id = self._session.connection().scalar(_OPEN_OR_LAST_RESOLVED_ID, {"owner": user.id})
        return self._session.get(Case, case_id) if case_id is not None else None

    def _reopenable(self, case: Case | None) -> bool:
        resolved_at = _aware(case.resolved_at) if case else None
        return bool(case and case.user_engaged and resolved_at
                    and self._now() - resolved_at <= self._hours.reopen_within)

    # ---- used by the conversation -------------------------------------------------------------
    def open_case(self, ctx: TurnContext, topic: str, priority: str, reason: str, announce: bool = True) -> Case:
        """`announce=False`: the caller tells the user about the wait itself (an emergency answer
        says whether a person is there now, next to the numbers to call)."""
        user = self._user(ctx)
        case = self.open_case_of(user)
        if case:
            escalated = self._escalate(ctx, case, topic, priority, reason)
            case.user_engaged = True
            if announce:
                ctx.say(ctx.t("handoff.already_open"))
            if escalated:
                return case
        else:
            case = Case(user_id=user.id, locale=ctx.locale, topic=topic if topic in TOPICS else "living",
                        priority=priority, priority_rank=PRIORITY_RANK[priority], status="waiting",
                        reason=reason[:200], source_event_id=ctx.event.get("webhookEventId"),
                        user_engaged=True, created_at=self._now())
            self._session.add(case)
            self._session.flush()
            if announce:
                self._tell_user_about_wait(ctx, case)
            else:                                   # the caller said the desk is closed, if it is
                case.out_of_hours_notified = not self._hours.is_open(self._now())
            self._publish(ctx, "new", case)
        self._schedule(ctx, case, "new")
        return case

    def take_user_message(self, ctx: TurnContext, text: str) -> Receipt | None:
        """The case that receives this message for its advisor (a recently resolved one reopens), or None."""
        case = self._open_or_last_resolved(self._user(ctx))
        reopened = False
        if case is None:
            return None
        if case.status == "resolved":
            if not self._reopenable(case):
                return None
            case.status = "assigned" if case.assigned_advisor_id else "waiting"
            case.resolved_at = None
            reopened = True
            self._schedule(ctx, case, "reopened")
        if not case.user_engaged:
            return None
        if case.status == "waiting_user":
            case.status = "assigned"
        case.updated_at = self._now()
        self._publish(ctx, "message", case)
        return Receipt(case, reopened)

    def acknowledge(self, ctx: TurnContext, receipt: Receipt) -> None:
        """Tell the user a person has the message: always after a reopening, else once per ACK_EVERY.

        Out of hours the same sentence says when the desk opens, so nobody waits for an answer
        that cannot come before Monday.
        """
        case, now = receipt.case, self._now()
        last = _aware(case.acknowledged_at)
        if not receipt.reopened and last is not None and now - last < ACK_EVERY:
            return
        ctx.say(ctx.t("desk.reopened" if receipt.reopened else "desk.ack") + "\n\n" + self._when_answered(ctx))
        case.acknowledged_at = now
        if not self._hours.is_open(now):
            case.out_of_hours_notified = True

    def _when_answered(self, ctx: TurnContext) -> str:
        now = self._now()
        if self._hours.is_open(now):
            return ctx.t("desk.hours_open")
        opening = self._hours.next_opening(now)
        if opening is None:
            return ctx.t("desk.hours_unknown")
        return ctx.t("desk.hours_closed", opens_day=opening.date().isoformat(), opens_time=opening.strftime("%H:%M"))

    def leave_case(self, ctx: TurnContext) -> bool:
        """The user asked for the menu while talking to an advisor: True when they just left a case.

        The choice to end it is offered alone: LINE shows only the last message's buttons, so a
        menu sent after it would hide "end conversation". Tapping "menu" then shows the menu.
        """
        case = self.open_case_of(self._user(ctx))
        if not (case and case.user_engaged):
            return False
        case.user_engaged = False
        ctx.say(text_message(ctx.t("handoff.left_case"), quick_replies=[
            postback_action(ctx.t("handoff.end_case"), "case:close"),
            postback_action(ctx.t("menu.main"), "cmd:menu")]))
        return True

    def on_postback(self, ctx: TurnContext, value: str) -> None:
        case = self.open_case_of(self._user(ctx))
        if value == "close" and case:
            case.status, case.resolved_at, case.user_engaged = "resolved", self._now(), False
            ctx.say(ctx.t("handoff.closed_by_user"))
        elif value == "close":
            ctx.say(ctx.t("handoff.nothing_open"))

    # ---- pieces ----------------------------------------------------------------------------------
    def _raise_priority(self, case: Case, priority: str) -> bool:
        if PRIORITY_RANK[priority] < case.priority_rank:
            case.priority, case.priority_rank = priority, PRIORITY_RANK[priority]
            return True
        return False

    def _escalate(self, ctx: TurnContext, case: Case, topic: str, priority: str, reason: str) -> bool:
        """A safety message inside an open case: the case takes its reason, priority and topic.

        Every emergency or crisis message counts (four "not breathing" are four escalations), is
        marked for the inbox by its event id, and alerts the advisors at once; levels only go up.
        """
        level = reason.removeprefix("triage: ").split("/", 1)[0] if reason.startswith("triage: ") else ""
        before = {"priority": case.priority, "reason": case.reason, "topic": case.topic}
        raised = self._raise_priority(case, priority)
        if not raised and level not in SAFETY_LEVELS:
            return False
        case.reason = reason[:200]
        if topic in TOPICS and topic != "living":
            case.topic = topic
        case.updated_at = self._now()
        self._session.add(AuditEntry(advisor_id=None, action=ESCALATE_ACTION, target=f"case:{case.id}", detail={
            "event_id": ctx.event.get("webhookEventId"), "level": level, "reason": case.reason,
            "priority": case.priority, "before": before}))
        self._schedule(ctx, case, "raised")
        self._publish(ctx, "escalated", case, level=level)
        return True

    def _publish(self, ctx: TurnContext, kind: str, case: Case, **data) -> None:
        live = self._live
        if live is None:
            return
        case_id, details = case.id, {"priority": case.priority, "topic": case.topic, "status": case.status, **data}
        ctx.after_commit.append(lambda: live.publish(kind, case_id, **details))

    def _tell_user_about_wait(self, ctx: TurnContext, case: Case) -> None:
        if self._hours.is_open(self._now()):
            ctx.say(ctx.t("handoff.opened", minutes=self._hours.expected_wait_minutes[case.priority]))
        else:
            self._tell_out_of_hours(ctx, case)

    def _tell_out_of_hours(self, ctx: TurnContext, case: Case) -> None:
        opening = self._hours.next_opening(self._now())
        if opening:
            ctx.say(ctx.t("handoff.out_of_hours", opens_day=opening.date().isoformat(),
                          opens_time=opening.strftime("%H:%M")))
        else:
            ctx.say(ctx.t("handoff.out_of_hours_unknown"))
        case.out_of_hours_notified = True

    def _schedule(self, ctx: TurnContext, case: Case, kind: str) -> None:
        tasks = self._tasks
        if tasks is None:
            return
        case_id, priority, escalate_after = case.id, case.priority, self._hours.escalate_urgent_after
        ctx.after_commit.append(lambda: tasks.enqueue("bot.jobs.notify_advisors", case_id, kind))
        if priority == "urgent":
            ctx.after_commit.append(lambda: tasks.enqueue_in(escalate_after, "bot.jobs.escalate_if_unclaimed", case_id))
