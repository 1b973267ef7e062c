"""The fake LINE server's multicast: POST /v2/bot/message/multicast as LINE answers it.

- The body is checked against LINE's OpenAPI spec (`MulticastRequest`: 1-500 `to`, 1-5 messages)
  and the message limits, like every other endpoint (`line_rules.request_errors`).
- `X-Line-Retry-Key`: a key LINE already accepted gets 409 and nothing is delivered again.
- The monthly quota counts per recipient, as for push: a call whose recipients do not all fit
  in what is left is refused whole with the monthly-limit 429 (LINE sends to all or none).
- Each accepted call is recorded once in `state.received` per recipient (endpoint "multicast"), so
  `/_test/messages?to=U...` and the simulator show announcements like any push, and once in
  `state.multicasts` (the call as LINE got it) for reports.

Test switch: `POST /_test/multicast-stall {"after": N, "seconds": S}` makes the call after the
N-th accepted one be accepted and recorded, then answered only S seconds later: a worker killed
while it waits has had its batch delivered without learning so (the crash retry keys exist for).
"""
from __future__ import annotations

import time
import uuid

from flask import Flask, jsonify, request

from bot.devtools.fake_line_quota import MONTHLY_LIMIT_MESSAGE


def reset_multicast(state) -> None:
    state.multicasts = []                 # accepted calls: {"to": [...], "messages": [...], "retryKey": ...}
    state.multicast_stall = None          # {"after": N, "seconds": S}


def _spend_or_refuse(state, recipients: int):
    """Under state.lock: LINE's monthly-limit 429 unless every recipient fits in the quota (then counted)."""
    limit = getattr(state, "quota_limit", None)
    if limit is not None and state.quota_used + recipients > limit:
        return jsonify(message=MONTHLY_LIMIT_MESSAGE), 429
    state.quota_used = getattr(state, "quota_used", 0) + recipients
    return None


def _accept(state, body: dict, retry_key: str | None) -> float:
    """Record an accepted call (under state.lock); returns how long to hold the answer back."""
    now = time.time()
    sent = [{"id": uuid.uuid4().hex[:18], "quoteToken": uuid.uuid4().hex} for _ in body["messages"]]
    if retry_key:
        state.accepted_retry_keys[retry_key] = sent
    state.multicasts.append({"to": list(body["to"]), "messages": body["messages"], "retryKey": retry_key, "time": now})
    for user_id in body["to"]:
        state.received.append({"endpoint": "multicast", "to": user_id, "retryKey": retry_key,
                               "messages": body["messages"], "time": now})
    stall = state.multicast_stall
    if stall and len(state.multicasts) == stall["after"] + 1:
        state.multicast_stall = None
        return float(stall["seconds"])
    return 0.0


def register_multicast_endpoints(app: Flask, state, refused, injected_failure, note) -> None:
    """`refused`, `injected_failure` and `note` are fake_line's own helpers (spec check, /_test/fail, call log)."""
    reset_multicast(state)

    @app.post("/v2/bot/message/multicast")
    def multicast():
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else None
        if (failure := injected_failure("multicast")) is not None:
            note("multicast", body, failure[1])
            return failure
        if (refusal := refused("multicast", body)) is not None:
            return refusal
        if body is None:                       # the spec check refuses a body that is not an object
            return jsonify(message="The request body has 1 error(s)"), 400
        retry_key = request.headers.get("X-Line-Retry-Key")
        with state.lock:
            if retry_key and retry_key in state.accepted_retry_keys:
                state.calls.append({"endpoint": "multicast", "status": 409, "body": body, "time": time.time(),
                                    "retryKey": retry_key})
                return jsonify(message="The retry key is already accepted",
                               sentMessages=state.accepted_retry_keys[retry_key]), 409
            if (over_quota := _spend_or_refuse(state, len(body["to"]))) is not None:
                state.calls.append({"endpoint": "multicast", "status": 429, "body": body, "time": time.time(),
                                    "retryKey": retry_key})
                return over_quota
            hold_s = _accept(state, body, retry_key)
        note("multicast", body, 200)
        if hold_s:
            time.sleep(hold_s)
        return jsonify({})

    @app.post("/_test/multicast-stall")
    def test_multicast_stall():
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.multicast_stall = {"after": int(body.get("after", 0)), "seconds": float(body.get("seconds", 30))}
        return jsonify(ok=True)
