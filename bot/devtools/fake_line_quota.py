"""The fake LINE server's message quota: GET /v2/bot/message/quota(/consumption), and the
monthly-limit 429 a push gets once the quota set by a test is spent.

LINE counts pushes per recipient (one push call to one user is one message, however many
bubbles it carries); replies are free. `POST /_test/quota {"limit": 10, "used": 0}` sets the
plan's limit (`"limit": null` for none, the default).
"""
from __future__ import annotations

from flask import Flask, jsonify, request

MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."


def reset_quota(state) -> None:
    state.quota_limit = None
    state.quota_used = 0


def spend_or_refuse(state):
    """Called under state.lock for a push about to be accepted: a 429 response once the quota is
    spent, else None after counting the push."""
    limit = getattr(state, "quota_limit", None)
    if limit is not None and state.quota_used >= limit:
        return jsonify(message=MONTHLY_LIMIT_MESSAGE), 429
    state.quota_used = getattr(state, "quota_used", 0) + 1
    return None


def register_quota_endpoints(app: Flask, state) -> None:
    @app.get("/v2/bot/message/quota")
    def message_quota():
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return jsonify(message="Authentication failed"), 401
        with state.lock:
            limit = state.quota_limit
        return jsonify({"type": "none"} if limit is None else {"type": "limited", "value": limit})

    @app.get("/v2/bot/message/quota/consumption")
    def message_quota_consumption():
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return jsonify(message="Authentication failed"), 401
        with state.lock:
            return jsonify(totalUsage=state.quota_used)

    @app.post("/_test/quota")
    def test_quota():
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.quota_limit = body.get("limit")
            state.quota_used = int(body.get("used", 0))
        return jsonify(ok=True)
