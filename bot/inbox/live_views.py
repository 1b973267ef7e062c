"""Live inbox: a Server-Sent Events stream of case changes, its polling fallback, the new
messages of an open case as HTML, who is looking at a case, and the advisor's label language.

A stream holds one of gunicorn's threads, so it is bounded twice: each lasts STREAM_SECONDS and
then ends (EventSource reconnects after `retry` ms with Last-Event-ID, missing nothing), and a
process serves at most MAX_STREAMS at once. A page turned away (204) polls instead.
"""
from __future__ import annotations

import json
import os
import threading
import time

from flask import Response, abort, g, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import select

from bot.inbox.labels import UI_LANGUAGES
from bot.inbox.pages import case_extras, live_feed, services, ui_language
from bot.inbox.presence import CasePresence
from bot.inbox.views import _case_or_404, _conversation, _user_of, bp, login_required
from bot.store.models import Advisor

STREAM_SECONDS = 25            # then the browser reconnects: no thread is held for ever
RETRY_MS = 1000                # EventSource waits this long before reconnecting
RECHECK_LOGIN_S = 5            # a stream stops soon after logout or deactivation
MAX_STREAMS = int(os.environ.get("INBOX_MAX_STREAMS", "12"))    # keep threads free for page requests
_streams = threading.BoundedSemaphore(MAX_STREAMS)


def _sse(event_id: str, event: dict) -> str:
    return f"id: {event_id}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@bp.get("/api/live")
@login_required()
def live_stream():
    """text/event-stream of case events after Last-Event-ID (or ?after=, the page's render time)."""
    feed, inbox_sessions, sid = live_feed(), services().inbox_sessions, session.get("sid")
    start = request.headers.get("Last-Event-ID") or request.args.get("after") or feed.latest_id()
    if not _streams.acquire(blocking=False):
        return Response(status=204)         # too many open streams: this page polls instead

    def generate():
        try:
            yield f"retry: {RETRY_MS}\n\n"
            cursor, deadline, checked = start, time.monotonic() + STREAM_SECONDS, time.monotonic()
            while time.monotonic() < deadline:
                if time.monotonic() - checked > RECHECK_LOGIN_S:
                    if inbox_sessions.advisor_of(sid) is None:
                        return                      # logged out meanwhile
                    checked = time.monotonic()
                events = feed.read(cursor, block_ms=1000)
                for event_id, event in events:
                    cursor = event_id
                    yield _sse(event_id, event)
                if not events:
                    yield ": idle\n\n"              # finds a closed connection within a second
        finally:
            _streams.release()

    # g.db is closed when this view returns; the generator uses only Redis.
    return Response(generate(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/api/live/poll")
@login_required()
def live_poll():
    """The fallback when the stream is refused or dropped: events after ?after=, at once."""
    feed = live_feed()
    after = request.args.get("after") or feed.latest_id()
    events = feed.read(after, block_ms=None)
    return jsonify(events=[{"id": event_id, **event} for event_id, event in events],
                   last=events[-1][0] if events else after)


@bp.get("/cases/<int:case_id>/updates")
@login_required()
def case_updates(case_id: int):
    """The messages after ?after= (as the page's HTML) and the case's header, for the live page."""
    case = _case_or_404(case_id)
    user = _user_of(g.db, case)
    after = request.args.get("after", type=int) or 0
    items = _conversation(case, user)
    advisors = g.db.scalars(select(Advisor)).all()
    extras = case_extras(g.db, case, items)
    fresh = [item for item in items if item["id"] > after]
    names = {a.id: a.display_name for a in advisors}
    return jsonify(
        messages=render_template("_case_parts.html", part="messages", items=fresh, case=case, names=names),
        header=render_template("_case_parts.html", part="header", case=case, user=user, **extras),
        last=extras["last_message_id"], status=case.status, priority=case.priority, topic=case.topic)


@bp.post("/cases/<int:case_id>/presence")
@login_required()
def case_presence(case_id: int):
    """Heartbeat of an open case page; answers who is looking now (this advisor included)."""
    _case_or_404(case_id)
    presence = CasePresence(services().redis)
    if request.form.get("leaving"):
        presence.leave(case_id, g.advisor.id)
        return jsonify(viewers=[])
    presence.touch(case_id, g.advisor.id)
    ids = presence.viewers(case_id)
    people = g.db.scalars(select(Advisor).where(Advisor.id.in_(ids or [0])).order_by(Advisor.display_name)).all()
    return jsonify(viewers=[a.display_name for a in people])


@bp.post("/prefs/ui-language")
@login_required()
def choose_ui_language():
    """Status, priority, topic and language names in Japanese (default) or English, for this login."""
    chosen = request.form.get("ui_lang")
    if chosen not in UI_LANGUAGES:
        abort(400, description="ui_lang must be ja or en")
    session["ui_lang"] = chosen
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/inbox/") else url_for("inbox.cases"))


def publish_case_change(case, action: str, advisor_id: int, to_advisor: int | None = None) -> None:
    """After an advisor changed a case: other open pages update; an assignee is told."""
    data = {"priority": case.priority, "topic": case.topic, "status": case.status, "action": action,
            "by": advisor_id}
    if to_advisor is not None:
        live_feed().publish("assigned", case.id, to=to_advisor, **data)
    else:
        live_feed().publish("changed", case.id, **data)


__all__ = ["publish_case_change", "ui_language"]
