"""A LINE-like chat page for trying the bot locally (dev mode only).

The page never sees the channel secret: it posts to /simulator/api/*, which builds LINE events,
signs them and sends them to /callback like LINE would, then reads what the bot sent from the
fake LINE server.
"""
from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from datetime import date, datetime

from flask import Blueprint, current_app, jsonify, render_template, request

from bot.content.languages import NATIVE_NAMES
from bot.web.signature import sign

bp = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="templates")


def register_simulator(app, services) -> None:
    app.register_blueprint(bp)


def _services():
    return current_app.extensions["bot.services"]


def _fake_line(path: str, payload: dict | None = None):
    url = _services().settings.line_api_host + path
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                 method="POST" if payload is not None else "GET")
    with urllib.request.urlopen(req, timeout=5) as response:
        return json.loads(response.read() or b"null")


def _event(kind: str, user_id: str, **extra) -> dict:
    event = {"type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": user_id}, "webhookEventId": uuid.uuid4().hex.upper()[:26],
             "deliveryContext": {"isRedelivery": False}, "replyToken": uuid.uuid4().hex}
    event.update(extra)
    return event


def _deliver(event: dict):
    _fake_line("/_test/reply-tokens", {"replyToken": event["replyToken"], "userId": event["source"]["userId"]})
    body = json.dumps({"destination": "Usimulator", "events": [event]}, ensure_ascii=False).encode()
    signature = sign(body, _services().settings.line_channel_secret)
    response = current_app.test_client().post("/callback", data=body, headers={
        "Content-Type": "application/json", "X-Line-Signature": signature})
    return jsonify(status=response.status_code, eventId=event["webhookEventId"])


@bp.get("/")
def page():
    return render_template("simulator.html", languages=NATIVE_NAMES)


@bp.post("/api/follow")
def follow():
    body = request.get_json(force=True)
    _fake_line("/_test/profiles", {"userId": body["userId"], "displayName": body.get("name") or "Parent",
                                   "language": body.get("language") or None})
    return _deliver(_event("follow", body["userId"], follow={"isUnblocked": False}))


@bp.post("/api/text")
def text():
    body = request.get_json(force=True)
    message = {"id": uuid.uuid4().hex[:12], "type": "text", "text": body["text"][:5000],
               "quoteToken": uuid.uuid4().hex, "markAsReadToken": uuid.uuid4().hex}
    return _deliver(_event("message", body["userId"], message=message))


@bp.post("/api/postback")
def postback():
    body = request.get_json(force=True)
    postback = {"data": body["data"]}
    if body.get("params"):
        postback["params"] = {k: str(v) for k, v in body["params"].items() if k in ("date", "time", "datetime")}
    return _deliver(_event("postback", body["userId"], postback=postback))


@bp.post("/api/sticker")
def sticker():
    body = request.get_json(force=True)
    message = {"id": uuid.uuid4().hex[:12], "type": "sticker", "packageId": "446", "stickerId": "1988"}
    return _deliver(_event("message", body["userId"], message=message))


@bp.post("/api/reminders")
def reminders():
    """Run the reminder sweep as if it were `day` (default today) at its send hour: in dev, reminders
    arrive in the chat without waiting for the scheduled run (issue 16)."""
    body = request.get_json(force=True) or {}
    services = _services()
    sweep = services.reminder_sweep()
    day = date.fromisoformat(body["day"]) if body.get("day") else services.clock.today()
    report = sweep.run(datetime.combine(day, sweep.send_at, tzinfo=services.clock.zone))
    return jsonify(day=report.day.isoformat(), pushed=report.pushed, written=report.written)


@bp.get("/api/messages")
def messages():
    user_id = request.args["userId"]
    since = request.args.get("since", "0")
    return jsonify(_fake_line(f"/_test/messages?to={user_id}&since={since}"))


@bp.get("/api/richmenu")
def rich_menu():
    """The rich menu the fake LINE server would show this user (hers, else the default)."""
    return jsonify(_fake_line(f"/_test/richmenu/{urllib.parse.quote(request.args['userId'])}"))


@bp.get("/api/richmenu/<menu_id>/image")
def rich_menu_image(menu_id: str):
    settings = _services().settings
    url = f"{settings.line_api_data_host}/v2/bot/richmenu/{urllib.parse.quote(menu_id)}/content"
    req = urllib.request.Request(url,
                                 headers={"Authorization": f"Bearer {settings.line_channel_access_token}"})
    with urllib.request.urlopen(req, timeout=5) as response:
        return current_app.response_class(response.read(), mimetype=response.headers.get_content_type())
