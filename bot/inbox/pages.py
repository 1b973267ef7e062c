"""What inbox pages need beside the records: the advisor's label language, Japanese glosses,
escalated messages, who else is looking, canned replies in order."""
from __future__ import annotations

from flask import current_app, g, session
from sqlalchemy import select

from bot.cases.desk import ESCALATE_ACTION
from bot.cases.live import RedisLiveFeed
from bot.inbox import labels
from bot.inbox.gloss import gloss_for
from bot.inbox.presence import CasePresence
from bot.inbox.timefmt import jst
from bot.store.models import Advisor, AuditEntry, Message

ESCALATION_WORDS = {"emergency": "⚠ 緊急の言葉", "crisis": "⚠ 危機の言葉", None: "⚠ 優先度が上がった言葉"}


def services():
    return current_app.extensions["bot.services"]


def ui_language() -> str:
    """Labels in Japanese unless this advisor chose English (kept in the session)."""
    chosen = session.get("ui_lang")
    return chosen if chosen in labels.UI_LANGUAGES else "ja"


def label_filters() -> dict:
    """Jinja filters: `{{ case.status|status_label }}`, `{{ message.created_at|jst }}`."""
    bound = {name: (lambda code, _f=f: _f(code, ui_language())) for name, f in labels.FILTERS.items()}
    return {**bound, "jst": jst}


def live_feed() -> RedisLiveFeed:
    return services().extras.get("live") or RedisLiveFeed(services().redis)


def page_helpers() -> dict:
    helpers = {"ui_lang": ui_language(), "label_tables": {
        "priority": labels.PRIORITY[ui_language()], "topic": labels.TOPIC[ui_language()],
        "status": labels.STATUS[ui_language()], "language": labels.LANGUAGE[ui_language()]}}
    if g.get("advisor") is not None:
        try:
            helpers["live_after"] = live_feed().latest_id()
        except Exception:  # noqa: BLE001 - Redis down: the page still opens; the live script polls
            helpers["live_after"] = "0-0"
    return helpers


def case_extras(db, case, items: list[dict]) -> dict:
    """Japanese beside the bot's messages and taps, escalated messages marked, current viewers."""
    gloss = gloss_for(services().content.current())
    escalations = db.scalars(select(AuditEntry).where(AuditEntry.action == ESCALATE_ACTION,
                                                      AuditEntry.target == f"case:{case.id}")
                             .order_by(AuditEntry.id)).all()
    level_of_event = {(e.detail or {}).get("event_id"): (e.detail or {}).get("level") for e in escalations}
    level_of_event.pop(None, None)
    event_of = dict(db.execute(select(Message.id, Message.event_id)
                               .where(Message.id.in_([i["id"] for i in items] or [0]))).all())
    for item in items:
        event_id = event_of.get(item["id"]) if item["direction"] == "in" else None
        item["escalated"] = event_id in level_of_event
        item["escalation_label"] = ESCALATION_WORDS.get(level_of_event.get(event_id), ESCALATION_WORDS[None])
        if item["kind"] == "postback":
            item["tap"] = gloss.tap(item["text"])
        elif item["direction"] == "out" and item["sender"] == "bot":
            item["gloss"] = gloss.bot_text(item["text"], case.locale)
    safety = [e for e in escalations if (e.detail or {}).get("level") in labels.SAFETY_LEVELS]
    return {"escalations": escalations, "safety_escalations": safety, "viewers": viewer_names(db, case.id),
            "last_message_id": max((i["id"] for i in items), default=0)}


def viewer_names(db, case_id: int) -> list[str]:
    try:
        ids = CasePresence(services().redis).viewers(case_id)
    except Exception:  # noqa: BLE001 - presence is a courtesy; the page works without it
        return []
    if not ids:
        return []
    advisors = db.scalars(select(Advisor).where(Advisor.id.in_(ids)).order_by(Advisor.display_name))
    return [a.display_name for a in advisors]


def sorted_canned(replies: list[dict], topic: str) -> list[dict]:
    """Every canned reply, the case's topic first, then the general ones, then the rest."""
    order = {topic: 0, "any": 1}
    return sorted(replies, key=lambda r: order.get(str(r.get("topic")), 2))
