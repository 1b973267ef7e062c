"""Figures for the dashboard, computed from cases and logged questions (anonymous counts only)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import AuditEntry, Case, Question

ESCALATE_ACTION = "case.escalate"      # bot.cases.desk: a safety message inside an open case
SAFETY_LEVELS = ("emergency", "crisis")

JST = ZoneInfo("Asia/Tokyo")


def _local(moment: datetime, zone: ZoneInfo = JST) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the value below which `share` of the values fall."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class Dashboard:
    days: list[date]
    cases_by_day_locale: dict[date, Counter[str]]
    cases_by_day_topic: dict[date, Counter[str]]
    weeks: list[date]
    first_response: dict[date, tuple[float | None, float | None]]     # week -> (median, p90) minutes
    resolution: dict[date, tuple[float | None, float | None]]
    answered_share: dict[date, float | None]                          # week -> share answered by the index
    safety_by_week: dict[date, Counter[str]]                               # week -> {emergency, crisis}
    by_hour: Counter
    unanswered: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)


def build_dashboard(session: Session, today: date, days: int = 30, weeks: int = 12, zone: ZoneInfo = JST) -> Dashboard:
    """`today` and `zone` come from the clock: days and weeks are Japan's, not UTC's."""
    since = datetime.combine(week_start(today) - timedelta(weeks=weeks - 1), datetime.min.time(), zone)
    rows = session.execute(select(Case.id, Case.created_at, Case.locale, Case.topic, Case.reason,
                                  Case.first_response_at, Case.resolved_at)
                           .where(Case.created_at >= since)).all()
    escalations = session.execute(select(AuditEntry.created_at, AuditEntry.target, AuditEntry.detail)
                                  .where(AuditEntry.action == ESCALATE_ACTION, AuditEntry.created_at >= since)
                                  .order_by(AuditEntry.id)).all()
    opening_reason = _opening_reasons(escalations)
    day_list = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    week_list = [week_start(today) - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    by_locale: defaultdict[date, Counter[str]] = defaultdict(Counter)
    by_topic: defaultdict[date, Counter[str]] = defaultdict(Counter)
    first: defaultdict[date, list[float]] = defaultdict(list)
    resolve: defaultdict[date, list[float]] = defaultdict(list)
    safety: defaultdict[date, Counter[str]] = defaultdict(Counter)
    hours: Counter[int] = Counter()
    for case_id, created, locale, topic, reason, first_at, resolved_at in rows:
        local = _local(created, zone)
        by_locale[local.date()][locale] += 1
        by_topic[local.date()][topic] += 1
        hours[local.hour] += 1
        week = week_start(local.date())
        if first_at:
            first[week].append((_local(first_at, zone) - local).total_seconds() / 60)
        if resolved_at:
            resolve[week].append((_local(resolved_at, zone) - local).total_seconds() / 60)
        # A case counts with the level it opened with; its escalations count below, one each.
        level = _level(opening_reason.get(f"case:{case_id}", reason))
        if level in SAFETY_LEVELS:
            safety[week][level] += 1
    for created, _target, detail in escalations:
        raised_to = (detail or {}).get("level")
        if raised_to in SAFETY_LEVELS:
            safety[week_start(_local(created, zone).date())][raised_to] += 1
    return Dashboard(
        days=day_list, cases_by_day_locale=by_locale, cases_by_day_topic=by_topic, weeks=week_list,
        first_response={w: (percentile(first[w], 0.5), percentile(first[w], 0.9)) for w in week_list},
        resolution={w: (percentile(resolve[w], 0.5), percentile(resolve[w], 0.9)) for w in week_list},
        answered_share=_answered_share(session, since, week_list, zone), safety_by_week=safety, by_hour=hours,
        unanswered=unanswered_groups(session), totals={"cases": len(rows)},
    )


def _level(reason: str | None) -> str:
    return (reason or "").removeprefix("triage: ").split("/", 1)[0]


def _opening_reasons(escalations) -> dict[str, str | None]:
    """The reason each escalated case opened with (an escalation replaces the case's reason)."""
    first: dict[str, str | None] = {}
    for _created, target, detail in escalations:
        if target not in first:
            first[target] = ((detail or {}).get("before") or {}).get("reason")
    return first


def _answered_share(session: Session, since: datetime, weeks: list[date], zone: ZoneInfo) -> dict[date, float | None]:
    counts: dict[date, Counter] = defaultdict(Counter)
    query = select(Question.created_at, Question.outcome).where(Question.created_at >= since)
    for created, outcome in session.execute(query):
        counts[week_start(_local(created, zone).date())][outcome] += 1
    share = {}
    for week in weeks:
        asked = sum(v for k, v in counts[week].items() if k != "not_helpful")
        share[week] = (counts[week]["answered"] + counts[week]["suggested"]) / asked if asked else None
    return share


def unanswered_groups(session: Session, limit: int = 50) -> list[dict]:
    """Questions the index could not answer or that were marked unhelpful, grouped by wording/entry."""
    groups: dict[tuple, dict] = {}
    query = (select(Question).where(Question.outcome.in_(("not_found", "not_helpful")))
             .order_by(Question.id.desc()).limit(5000))
    for question in session.scalars(query):
        key = (question.outcome, question.entry_id or "", " ".join((question.text or "").casefold().split()))
        group = groups.setdefault(key, {"outcome": question.outcome, "entry_id": question.entry_id,
                                        "text": question.text or "(text not kept)", "count": 0, "locales": Counter(),
                                        "last": question.created_at})
        group["count"] += 1
        group["locales"][question.locale] += 1
    return sorted(groups.values(), key=lambda g: g["count"], reverse=True)[:limit]


def dashboard_csv_rows(board: Dashboard) -> list[list]:
    rows: list[list] = [["metric", "period", "key", "value"]]
    for day in board.days:
        for locale, count in sorted(board.cases_by_day_locale.get(day, {}).items()):
            rows.append(["cases_by_language", day.isoformat(), locale, count])
        for topic, count in sorted(board.cases_by_day_topic.get(day, {}).items()):
            rows.append(["cases_by_topic", day.isoformat(), topic, count])
    for week in board.weeks:
        for name, table in (("first_response_minutes", board.first_response), ("resolution_minutes", board.resolution)):
            median, p90 = table[week]
            rows += [[name, week.isoformat(), "median", _fmt(median)], [name, week.isoformat(), "p90", _fmt(p90)]]
        rows.append(["answered_by_index_share", week.isoformat(), "", _fmt(board.answered_share[week])])
        for level in ("emergency", "crisis"):
            rows.append(["safety_cases", week.isoformat(), level, board.safety_by_week.get(week, Counter())[level]])
    for hour in range(24):
        rows.append(["cases_by_hour_jst", "", f"{hour:02d}", board.by_hour[hour]])
    return rows


def _fmt(value) -> str:
    return "" if value is None else f"{value:.2f}"
