"""POST /callback: verify, store in Redis, answer 200 at once. GET /healthz."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from bot.pipeline.events import MAX_EVENT_DEPTH, clean_event
from bot.ports import QueueUnavailableError
from bot.web.signature import signature_is_valid

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
MAX_BODY_BYTES = 1024 * 1024


def _services():
    return current_app.extensions["bot.services"]


def _problem(status: int, message: str):
    return jsonify(error=message), status


@bp.post("/callback")
def callback():
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _problem(413, "body larger than 1 MiB")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _problem(413, "body larger than 1 MiB")
    services = _services()
    if not signature_is_valid(body, request.headers.get("X-Line-Signature"), services.settings.line_channel_secret):
        log.warning("webhook rejected: missing or bad X-Line-Signature")
        return _problem(400, "missing or bad X-Line-Signature")
    events = _parse_events(body)
    if events is None:
        return _problem(400, "body must be a JSON object with an 'events' list")
    if not events:
        return "OK", 200               # the console's Verify button
    try:
        services.event_queue.enqueue(events)
    except QueueUnavailableError as exc:
        log.error("webhook answered 503, LINE will redeliver: %s", exc)
        return _problem(503, "queue unavailable, please redeliver")
    return "OK", 200


def _parse_events(body: bytes) -> list[dict] | None:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None                     # RecursionError: JSON nested thousands deep
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        return None
    events = []
    for entry in payload["events"]:
        event = clean_event(entry, MAX_EVENT_DEPTH)
        if isinstance(event, dict) and isinstance(event.get("type"), str):
            events.append(event)
    dropped = len(payload["events"]) - len(events)
    if dropped:
        log.warning("webhook ignored %d entries that are not LINE events", dropped)
    return events


@bp.get("/healthz")
def healthz():
    services = _services()
    checks = {"web": True, "redis": services.event_queue.ping(), "database": services.database_ok()}
    return jsonify(status="ok" if all(checks.values()) else "degraded",
                   checks=checks), (200 if all(checks.values()) else 503)
