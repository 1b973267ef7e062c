"""The daily reminder sweep: who is due a reminder today, written once, pushed with a retry key.

Run by RQ's scheduler at the schedule's `send_at` (Japan time) and again after downtime. For each
schedule item one indexed query finds the subscriptions whose date falls near today; the exact
day is then settled in Python (months, closed days, municipal days). A reminder is sent on its
day, or up to `catch_up_days` late after downtime (never after its deadline), then skipped.

Exactly once: the sent-log row (user, reminder, occurrence) and the pending outbound message
are committed in one transaction before anything is pushed; the push's X-Line-Retry-Key comes
from that same key, so a sweep retried after a crash finds the row and only pushes what is
still pending (LINE answers 409 to a repeat). Nothing is sent outside send_at..21:00 Japan time.
Reminders are pushes: they count against LINE's monthly quota, and the sweep stops at it.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.adapters.clock import as_utc
from bot.pipeline.delivery import MONTHLY_LIMIT_ERROR, DeliveryPendingError
from bot.reminders.messages import reminder_message
from bot.reminders.schedule import Occurrence, Schedule
from bot.store.models import Message, User
from bot.store.reminders import ReminderSent, ReminderSubscription
from bot.store.users import RETRY_KEY_NAMESPACE, record_outbound

log = logging.getLogger(__name__)
QUIET_FROM = time(21, 0)             # DESIGN.md: no reminder between 21:00 and 08:00 Japan time
QUIET_UNTIL = time(8, 0)
EVENT_PREFIX = "rem:"                # outbound reminder messages carry event_id "rem:<uuid of the key>"
TOO_LATE_ERROR = "not sent: too late for this reminder"


@dataclass
class SweepReport:
    day: date
    considered: int = 0
    written: int = 0
    pushed: int = 0
    already_sent: int = 0
    skipped_quiet_hours: bool = False
    stopped_at_quota: bool = False
    line_unavailable: bool = False
    expired: int = 0
    sent_ids: list[str] = field(default_factory=list)

    @property
    def unfinished(self) -> bool:
        return self.line_unavailable or self.stopped_at_quota


@dataclass(frozen=True)
class Due:
    user_id: int
    line_user_id: str
    locale: str
    municipality: str | None
    occurrence: Occurrence

    @property
    def key(self) -> str:
        return f"reminder:{self.user_id}:{self.occurrence.reminder.id}:{self.occurrence.key}"

    @property
    def event_id(self) -> str:
        return EVENT_PREFIX + str(uuid.uuid5(RETRY_KEY_NAMESPACE, self.key))


def in_sending_hours(local: datetime, send_at: time) -> bool:
    return max(send_at, QUIET_UNTIL) <= local.time() < QUIET_FROM


class ReminderSweep:
    def __init__(self, sessions, delivery, clock, schedule: Schedule, catalog, *, default_locale: str = "en",
                 quota=None, municipality: str | None = None):
        self._sessions = sessions
        self._delivery = delivery
        self._clock = clock
        self._schedule = schedule
        self._catalog = catalog
        self._default_locale = default_locale
        self._quota = quota                  # bot.pipeline.quota.QuotaMonitor, or None (no limit known)
        self._municipality = municipality    # the deployment's, when users are not asked

    @property
    def send_at(self) -> time:
        return self._schedule.send_at

    def run(self, at: datetime | None = None) -> SweepReport:
        now = at or self._clock.now()
        local = self._clock.local(now)
        report = SweepReport(local.date())
        if not in_sending_hours(local, self._schedule.send_at):
            report.skipped_quiet_hours = True
            return report
        try:
            budget = self._finish_pending(report, self._push_budget())
            for due in self.due_today(report.day, report):
                if budget is not None and budget <= 0:
                    report.stopped_at_quota = True
                    break
                if self._write(due, report, now):
                    budget = None if budget is None else budget - 1
                    if not self._push(due, report):
                        break
        except DeliveryPendingError:
            report.line_unavailable = True
        return report

    # ---- who is due ---------------------------------------------------------------------------
    def due_today(self, today: date, report: SweepReport | None = None) -> list[Due]:
        found: list[Due] = []
        with self._sessions() as session:
            for reminder in self._schedule.reminders:
                earliest, latest = self._schedule.basis_window(reminder, today)
                column = ReminderSubscription.birth_date if reminder.basis == "birth" else ReminderSubscription.due_date
                rows = session.execute(
                    select(User.id, User.line_user_id, User.locale, User.municipality, ReminderSubscription.birth_date,
                           ReminderSubscription.due_date, ReminderSubscription.starts_on)
                    .join(ReminderSubscription, ReminderSubscription.user_id == User.id)
                    .where(column.between(earliest, latest), ReminderSubscription.stopped_at.is_(None),
                           User.blocked.is_(False), User.consent.is_(True))).all()
                candidates = [due for row in rows if (due := self._due(reminder, row, today))]
                if report is not None:
                    report.considered += len(rows)
                found += self._not_yet_sent(session, reminder.id, candidates, report)
        return sorted(found, key=lambda d: (d.user_id, d.occurrence.send_day, d.occurrence.reminder.id))

    def _due(self, reminder, row, today: date) -> Due | None:
        if reminder.basis == "due" and row.birth_date is not None:
            return None                          # the baby is born: pregnancy items are over
        basis_day = row.birth_date if reminder.basis == "birth" else row.due_date
        municipality = row.municipality or self._municipality
        occurrence = self._schedule.occurrence_for(reminder, basis_day, municipality)
        last = min(occurrence.send_day + timedelta(days=self._schedule.catch_up_days), occurrence.last_send_day)
        if not (occurrence.send_day <= today <= last) or occurrence.send_day < row.starts_on:
            return None
        return Due(row.id, row.line_user_id, row.locale or self._default_locale, municipality, occurrence)

    def _not_yet_sent(self, session, reminder_id: str, candidates: list[Due], report) -> list[Due]:
        if not candidates:
            return []
        sent = set(session.execute(
            select(ReminderSent.user_id, ReminderSent.occurrence)
            .where(ReminderSent.reminder_id == reminder_id,
                   ReminderSent.user_id.in_([d.user_id for d in candidates]))).all())
        fresh = [d for d in candidates if (d.user_id, d.occurrence.key) not in sent]
        if report is not None:
            report.already_sent += len(candidates) - len(fresh)
        return fresh

    # ---- writing and pushing ------------------------------------------------------------------
    def _write(self, due: Due, report: SweepReport, now: datetime) -> bool:
        """The sent-log row and the pending message, in one transaction; False if already there."""
        message = reminder_message(self._catalog, due.locale, due.occurrence, due.municipality)
        try:
            with self._sessions.begin() as session:
                session.add(ReminderSent(user_id=due.user_id, reminder_id=due.occurrence.reminder.id,
                                         occurrence=due.occurrence.key, send_day=due.occurrence.send_day,
                                         created_at=now))
                for row in record_outbound(session, due.user_id, [message], event_id=due.event_id, key_seed=due.key):
                    row.created_at = now                # the sweep's moment: catch-up counts from it
        except IntegrityError:
            report.already_sent += 1             # another sweep wrote it first
            return False
        report.written += 1
        return True

    def _push(self, due: Due, report: SweepReport) -> bool:
        """Push the reminder's pending message; False when the sweep must stop (quota, LINE down)."""
        with self._sessions() as session:
            ids = list(session.scalars(select(Message.id).where(
                Message.event_id == due.event_id, Message.delivery_status == "pending")))
        result = self._delivery.deliver_messages(ids, by_reply=False) if ids else None   # raises DeliveryPendingError
        if result is not None and result.status == "monthly_limit":
            self._forget(due)
            report.stopped_at_quota = True
            return False
        report.pushed += 1
        report.sent_ids.append(due.key)
        return True

    def _forget(self, due: Due) -> None:
        """LINE refused for the monthly limit: the message stays 'not sent: monthly limit' in the
        inbox, and the sent-log row goes, so a later sweep (within the catch-up days) tries again."""
        with self._sessions.begin() as session:
            session.execute(delete(ReminderSent).where(
                ReminderSent.user_id == due.user_id, ReminderSent.reminder_id == due.occurrence.reminder.id,
                ReminderSent.occurrence == due.occurrence.key))
            session.execute(delete(Message).where(Message.event_id == due.event_id,
                                                  Message.delivery_status == "failed",
                                                  Message.delivery_error == MONTHLY_LIMIT_ERROR))

    def _finish_pending(self, report: SweepReport, budget: int | None) -> int | None:
        """Reminders written by an earlier sweep whose push did not get through (LINE down, a
        killed worker): pushed now with the same retry key; marked too late when written more
        than `catch_up_days` ago, or dropped when she stopped reminders or blocked the bot since.
        Each push counts against the month's `budget`; returns what is left of it."""
        oldest = datetime.combine(report.day - timedelta(days=self._schedule.catch_up_days), time(0),
                                  tzinfo=self._clock.zone)
        with self._sessions() as session:
            rows = session.execute(
                select(Message.id, Message.event_id, Message.created_at, ReminderSubscription.stopped_at, User.blocked)
                .join(User, User.id == Message.user_id)
                .outerjoin(ReminderSubscription, ReminderSubscription.user_id == Message.user_id)
                .where(Message.event_id.like(EVENT_PREFIX + "%"), Message.delivery_status == "pending",
                       Message.direction == "out").order_by(Message.id)).all()
        pending: dict[str, list] = {}
        for row in rows:
            pending.setdefault(row.event_id, []).append(row)
        for group in pending.values():
            ids = [r.id for r in group]
            first = group[0]
            if as_utc(first.created_at) < oldest or first.stopped_at is not None or first.blocked:
                self._give_up(ids, report)
            elif budget is not None and budget <= 0:
                report.stopped_at_quota = True
                break
            else:
                # raises DeliveryPendingError while LINE is down
                self._delivery.deliver_messages(ids, by_reply=False)
                report.pushed += 1
                budget = None if budget is None else budget - 1
        return budget

    def _give_up(self, ids: list[int], report: SweepReport) -> None:
        with self._sessions.begin() as session:
            for message in session.scalars(select(Message).where(Message.id.in_(ids))):
                message.delivery_status, message.delivery_error = "failed", TOO_LATE_ERROR
        report.expired += 1

    def _push_budget(self) -> int | None:
        """Pushes this month still allowed (LINE's limit, less the reserve for advisors); None: no limit."""
        if self._quota is None:
            return None
        status = self._quota.status()
        if status is None or status.limit is None:
            return None
        return status.limit - status.used - self._schedule.quota_reserve
