"""A fake LINE Messaging API for tests and local development.

Implements the endpoints the bot uses (reply, push, profile, loading animation, mark as read)
with LINE's status codes. It refuses what LINE refuses (`bot/devtools/line_rules.py`: every
body against LINE's published OpenAPI spec plus the documented limits): 401 without an access
token, 400 with LINE's error shape for an invalid body, a retry key on a reply, or a reply token
that LINE never issued (tests and the simulator register the tokens of the events they send) or
that was already used; 409 for a push whose X-Line-Retry-Key was already accepted. Switches under
/_test/ make it answer 429/500 or hang, and GET /_test/messages shows what it received.
"""
from __future__ import annotations

import threading
import time
import uuid

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.devtools.fake_line_multicast import register_multicast_endpoints, reset_multicast
from bot.devtools.fake_line_quota import register_quota_endpoints, reset_quota, spend_or_refuse
from bot.devtools.fake_line_richmenu import register_richmenu_endpoints, reset_richmenus
from bot.devtools.line_rules import request_errors


class FakeLineState:
    def __init__(self):
        self.lock = threading.Lock()
        # Load benchmarks send thousands of events without registering their tokens; only they turn this on.
        self.accept_unregistered_reply_tokens = False
        self.quota_limit: int | None = None          # set by reset_quota (bot/devtools/fake_line_quota.py)
        self.quota_used = 0
        self.reset()

    def reset(self):
        self.received: list[dict] = []
        self.accepted_retry_keys: dict[str, list[dict]] = {}
        self.used_reply_tokens: set[str] = set()
        self.reply_token_owner: dict[str, str] = {}   # registered by tests and the simulator
        self.profiles: dict[str, dict] = {}
        self.failures: list[dict] = []     # consumed one per matching request: {"status": 500} or {"hang": 3}
        self.calls: list[dict] = []        # every call, including failed ones
        self.outage: dict | None = None    # {"status": 500, "until": monotonic time}: every reply/push fails
        reset_quota(self)
        reset_richmenus(self)
        reset_multicast(self)


def create_fake_line_app(state: FakeLineState | None = None) -> Flask:
    state = state or FakeLineState()
    app = Flask("fake_line")
    app.extensions["fake_line_state"] = state

    def injected_failure(endpoint: str):
        with state.lock:
            outage = state.outage
            if outage and time.monotonic() < outage["until"]:
                return jsonify(message="Injected outage"), int(outage["status"])
            for index, failure in enumerate(state.failures):
                if failure.get("endpoint", "any") in {"any", endpoint}:
                    state.failures.pop(index)
                    break
            else:
                return None
        if "hang" in failure:
            time.sleep(float(failure["hang"]))
            return jsonify(message="The server timed out"), 504
        return jsonify(message=failure.get("message", "Injected failure")), int(failure["status"])

    def refused(kind: str, body, spec_path: str | None = None, method: str = "post"):
        """LINE's answer to a request it would refuse (401 or 400), or None; noted like any call."""
        problem = request_errors(spec_path or request.path, body, request.headers, method)
        if problem is None:
            return None
        status, error = problem
        note(kind, body, status)
        return jsonify(error), status

    def json_body():
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else None

    def note(kind: str, body: dict, status: int):
        with state.lock:
            state.calls.append({"endpoint": kind, "status": status, "body": body, "time": time.time(),
                                "retryKey": request.headers.get("X-Line-Retry-Key")})

    @app.post("/v2/bot/message/reply")
    def reply():
        body = json_body()
        if (failure := injected_failure("reply")) is not None:
            note("reply", body, failure[1])
            return failure
        if (refusal := refused("reply", body)) is not None:
            return refusal
        token = body["replyToken"]
        with state.lock:
            issued = token in state.reply_token_owner or state.accept_unregistered_reply_tokens
            if not issued or token in state.used_reply_tokens:
                state.calls.append({"endpoint": "reply", "status": 400, "body": body, "time": time.time()})
                return jsonify(message="Invalid reply token"), 400
            state.used_reply_tokens.add(token)
            sent = [{"id": uuid.uuid4().hex[:18], "quoteToken": uuid.uuid4().hex} for _ in body["messages"]]
            state.received.append({"endpoint": "reply", "replyToken": token, "to": state.reply_token_owner.get(token),
                                   "messages": body["messages"], "time": time.time()})
        note("reply", body, 200)
        return jsonify(sentMessages=sent)

    @app.post("/v2/bot/message/push")
    def push():
        body = json_body()
        if (failure := injected_failure("push")) is not None:
            note("push", body, failure[1])
            return failure
        if (refusal := refused("push", body)) is not None:
            return refusal
        if not body["to"]:
            note("push", body, 400)
            return jsonify(message="The property, 'to', in the request body is invalid"), 400
        retry_key = request.headers.get("X-Line-Retry-Key")
        with state.lock:
            if retry_key and retry_key in state.accepted_retry_keys:
                state.calls.append({"endpoint": "push", "status": 409, "body": body, "time": time.time(),
                                    "retryKey": retry_key})
                return jsonify(message="The retry key is already accepted",
                               sentMessages=state.accepted_retry_keys[retry_key]), 409
            if (over_quota := spend_or_refuse(state)) is not None:
                state.calls.append({"endpoint": "push", "status": 429, "body": body, "time": time.time(),
                                    "retryKey": retry_key})
                return over_quota
            sent = [{"id": uuid.uuid4().hex[:18], "quoteToken": uuid.uuid4().hex} for _ in body["messages"]]
            if retry_key:
                state.accepted_retry_keys[retry_key] = sent
            state.received.append({"endpoint": "push", "to": body["to"], "retryKey": retry_key,
                                   "messages": body["messages"], "time": time.time()})
        note("push", body, 200)
        return jsonify(sentMessages=sent)

    @app.get("/v2/bot/profile/<user_id>")
    def profile(user_id):
        if (refusal := refused("profile", None, "/v2/bot/profile/{userId}", "get")) is not None:
            return refusal
        with state.lock:
            known = state.profiles.get(user_id)
        if known is None:
            return jsonify(message="Not found"), 404
        return jsonify({"userId": user_id, "displayName": known.get("displayName", "LINE user"),
                        **({"language": known["language"]} if known.get("language") else {})})

    @app.post("/v2/bot/chat/loading/start")
    def loading():
        body = json_body()
        if (refusal := refused("loading", body)) is not None:
            return refusal
        note("loading", body, 202)
        return jsonify({}), 202

    @app.post("/v2/bot/chat/markAsRead")
    def mark_as_read():
        body = json_body()
        if (refusal := refused("markAsRead", body)) is not None:
            return refusal
        note("markAsRead", body, 200)
        return jsonify({})

    register_quota_endpoints(app, state)
    register_richmenu_endpoints(app, state)
    register_multicast_endpoints(app, state, refused, injected_failure, note)

    @app.get("/_test/messages")
    def test_messages():
        to = request.args.get("to")
        since = float(request.args.get("since", 0))
        with state.lock:
            items = [m for m in state.received if m["time"] > since and (to is None or m["to"] == to)]
        return jsonify(items)

    @app.get("/_test/calls")
    def test_calls():
        with state.lock:
            return jsonify(list(state.calls))

    @app.post("/_test/fail")
    def test_fail():
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.failures.extend(body.get("failures", []))
        return jsonify(ok=True)

    @app.post("/_test/outage")
    def test_outage():
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.outage = {"status": int(body.get("status", 500)),
                            "until": time.monotonic() + float(body.get("seconds", 60))}
        return jsonify(ok=True)

    @app.post("/_test/profiles")
    def test_profiles():
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.profiles[body["userId"]] = body
        return jsonify(ok=True)

    @app.post("/_test/reply-tokens")
    def test_reply_tokens():
        body = request.get_json(silent=True) or {}
        with state.lock:
            state.reply_token_owner[body["replyToken"]] = body["userId"]
        return jsonify(ok=True)

    @app.post("/_test/reset")
    def test_reset():
        with state.lock:
            state.reset()
        return jsonify(ok=True)

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):   # tests make thousands of calls; keep their output readable
        pass


class FakeLineServer:
    """Runs the fake in a background thread: `with FakeLineServer() as line: line.url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.state = FakeLineState()
        self._server = make_server(host, port, create_fake_line_app(self.state), threaded=True,
                                   request_handler=_QuietHandler)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeLineServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # Helpers for tests in the same process.
    def messages_to(self, user_id: str) -> list[dict]:
        with self.state.lock:
            return [m for m in self.state.received if m["to"] == user_id]

    def texts_to(self, user_id: str) -> list[str]:
        return [msg.get("text", f"[{msg['type']}]") for r in self.messages_to(user_id) for msg in r["messages"]]

    def fail_next(self, *failures: dict) -> None:
        with self.state.lock:
            self.state.failures.extend(failures)

    def outage(self, seconds: float, status: int = 500) -> None:
        """Every reply and push answers `status` for the next `seconds` (LINE down for minutes)."""
        with self.state.lock:
            self.state.outage = {"status": status, "until": time.monotonic() + seconds}

    def register_reply_token(self, token: str, user_id: str) -> None:
        with self.state.lock:
            self.state.reply_token_owner[token] = user_id

    def set_profile(self, user_id: str, display_name: str = "Test parent", language: str | None = None) -> None:
        with self.state.lock:
            self.state.profiles[user_id] = {"displayName": display_name, "language": language}

    def set_quota(self, limit: int | None, used: int = 0) -> None:
        with self.state.lock:
            self.state.quota_limit, self.state.quota_used = limit, used
