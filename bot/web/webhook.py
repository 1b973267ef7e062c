"""POST /callback: verify, store in Redis, answer 200 at once. GET /healthz.

The webhook takes every LINE event, so it is served by `WebhookDispatch`, a plain WSGI app in
front of Flask: Flask's request context, URL routing, Response object and the cookie session it
opens on every request (the app has a SECRET_KEY) cost more CPU than the webhook's own work, and
the webhook needs none of them. Everything else, /healthz included, goes through Flask.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus

from flask import Blueprint, current_app, jsonify
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from bot.pipeline.events import MAX_EVENT_DEPTH, clean_event
from bot.ports import EventQueue, QueueUnavailableError
from bot.web.signature import signature_is_valid

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
CALLBACK_PATH = "/callback"
MAX_BODY_BYTES = 1024 * 1024

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class WebhookDispatch:
    """WSGI: POST /callback answered here; any other request passed on to `app` (Flask)."""

    def __init__(self, app: WsgiApp, event_queue: EventQueue, channel_secret: str,
                 headers: list[tuple[str, str]]):
        self._app = app
        self._event_queue = event_queue
        self._channel_secret = channel_secret
        self._headers = headers            # the security headers every answer of the app carries

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != CALLBACK_PATH:
            return self._app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return self._answer(start_response, 405, "use POST", [("Allow", "POST")])
        try:
            status, problem = self._callback(environ)
        except Exception:                  # as Flask would: logged, a 500, and LINE redelivers
            log.exception("webhook failed")
            status, problem = 500, "internal error"
        return self._answer(start_response, status, problem)

    def _callback(self, environ: dict) -> tuple[int, str | None]:
        """The status and, for an error, what was wrong."""
        try:        # werkzeug's stream, as Flask's request.stream: Content-Length or chunked, at most 1 MiB
            body = get_input_stream(environ, max_content_length=MAX_BODY_BYTES).read(MAX_BODY_BYTES + 1)
        except RequestEntityTooLarge:
            return 413, "body larger than 1 MiB"
        if len(body) > MAX_BODY_BYTES:
            return 413, "body larger than 1 MiB"
        if not signature_is_valid(body, environ.get("HTTP_X_LINE_SIGNATURE"), self._channel_secret):
            log.warning("webhook rejected: missing or bad X-Line-Signature")
            return 400, "missing or bad X-Line-Signature"
        events = parse_events(body)
        if events is None:
            return 400, "body must be a JSON object with an 'events' list"
        if not events:
            return 200, None               # the console's Verify button
        try:
            self._event_queue.enqueue(events)
        except QueueUnavailableError as exc:
            log.error("webhook answered 503, LINE will redeliver: %s", exc)
            return 503, "queue unavailable, please redeliver"
        return 200, None

    def _answer(self, start_response: Callable, status: int, problem: str | None,
                extra: list[tuple[str, str]] | None = None) -> list[bytes]:
        if problem is None:
            body, content_type = b"OK", "text/html; charset=utf-8"      # what Flask sent for "OK"
        else:
            body, content_type = json.dumps({"error": problem}).encode() + b"\n", "application/json"
        start_response(_STATUS_LINES[status],
                       [("Content-Type", content_type), ("Content-Length", str(len(body))),
                        *self._headers, *(extra or ())])
        return [body]


_STATUS_LINES = {status: f"{status} {HTTPStatus(status).phrase}" for status in (200, 400, 405, 413, 500, 503)}


def parse_events(body: bytes) -> list[dict] | None:
    """The LINE events of a body; None if it is not a JSON object with an 'events' list."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None                     # RecursionError: JSON nested thousands deep
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        return None
    needs_cleaning = _may_need_cleaning(body)
    events = []
    for entry in payload["events"]:
        event = clean_event(entry, MAX_EVENT_DEPTH) if needs_cleaning else entry
        if isinstance(event, dict) and isinstance(event.get("type"), str):
            events.append(event)
    dropped = len(payload["events"]) - len(events)
    if dropped:
        log.warning("webhook ignored %d entries that are not LINE events", dropped)
    return events


def _may_need_cleaning(body: bytes) -> bool:
    """Whether clean_event could change or refuse an event of this body, judged on the bytes.

    A lone surrogate or a NUL can only come from a \\u escape (json.loads refuses invalid UTF-8
    and raw control characters), and no event can nest deeper than the body's count of opening
    brackets. An ordinary LINE body has neither, and walking every value costs more than the rest
    of the parsing.
    """
    return b"\\u" in body or body.count(b"{") + body.count(b"[") > MAX_EVENT_DEPTH


@bp.get("/healthz")
def healthz():
    services = current_app.extensions["bot.services"]
    checks = {"web": True, "redis": services.event_queue.ping(), "database": services.database_ok()}
    return jsonify(status="ok" if all(checks.values()) else "degraded",
                   checks=checks), (200 if all(checks.values()) else 503)
