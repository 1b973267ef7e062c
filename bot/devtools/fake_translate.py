"""A fake Cloud Translation v3 REST endpoint for tests and local development.

Answers `POST /v3/projects/{p}/locations/{l}:translateText` like the real service, with a
visible, deterministic "translation" ([vi] text), a tiny dictionary so a demo reads
naturally, glossary results when a glossary is named, and switches to fail or hang: one
request at a time (`state.failures`), or every request until released (`hold()` /
`release()`, or `POST /_test/hang {"hang": true|false}`) — a Translation API that stopped
answering, for fault tests.
"""
from __future__ import annotations

import threading
import time

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

_DEMO = {
    ("vi", "ja"): {"Con tôi bị sốt": "子どもが熱を出しています", "Xin chào": "こんにちは"},
    ("ja", "vi"): {"こんにちは": "Xin chào",
                   "明日の10時に窓口に来てください。": "Vui lòng đến quầy lúc 10 giờ ngày mai."},
    # Auto-detected source (the safety net's pivot): Swahili, a language the bot has no offline words for.
    ("", "en"): {"Mtoto wangu hapumui, midomo ni ya bluu": "My baby is not breathing, his lips are blue",
                 "Nahitaji msaada wa posho la mtoto kila mwezi": "I need help with the monthly child allowance"},
}


def fake_translation(text: str, source: str | None, target: str) -> str:
    return _DEMO.get((source or "", target), {}).get(text) or f"[{target}] {text}"


class FakeTranslateState:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.failures: list[dict] = []
        self.released = threading.Event()      # cleared: every request hangs until it is set again
        self.released.set()
        self.hanging = 0                       # requests waiting right now
        self.hung_total = 0                    # requests that waited, ever
        self.hang_started = threading.Event()  # set when a request starts to hang

    def hold(self) -> None:
        self.hang_started.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def wait_while_held(self, limit_s: float = 300) -> None:
        if self.released.is_set():
            return
        with self.lock:
            self.hanging += 1
            self.hung_total += 1
        self.hang_started.set()
        try:
            self.released.wait(limit_s)
        finally:
            with self.lock:
                self.hanging -= 1


def create_fake_translate_app(state: FakeTranslateState | None = None) -> Flask:
    state = state or FakeTranslateState()
    app = Flask("fake_translate")

    @app.post("/v3/projects/<project>/locations/<path:location_and_method>")
    def translate_text(project, location_and_method):
        location, _, method = location_and_method.partition(":")
        if method != "translateText":
            return jsonify(error={"code": 404, "message": "Not found", "status": "NOT_FOUND"}), 404
        body = request.get_json(silent=True) or {}
        state.wait_while_held()
        with state.lock:
            state.requests.append(body)
            failure = state.failures.pop(0) if state.failures else None
        if failure and "hang" in failure:
            time.sleep(float(failure["hang"]))
        elif failure:
            return jsonify(error={"code": failure["status"], "message": "injected failure",
                                  "status": "UNAVAILABLE"}), failure["status"]
        source, target = body.get("sourceLanguageCode"), body["targetLanguageCode"]
        translations = [{"translatedText": fake_translation(t, source, target),
                         **({} if source else {"detectedLanguageCode": "vi"})} for t in body.get("contents", [])]
        payload = {"translations": translations}
        if body.get("glossaryConfig"):
            payload["glossaryTranslations"] = [{"translatedText": t["translatedText"] + " (glossary)",
                                                "glossaryConfig": body["glossaryConfig"]} for t in translations]
        return jsonify(payload)

    @app.post("/_test/hang")
    def hang_switch():
        body = request.get_json(silent=True) or {}
        state.hold() if body.get("hang") else state.release()
        return jsonify(hanging=not state.released.is_set())

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class FakeTranslateServer:
    def __init__(self):
        self.state = FakeTranslateState()
        self._server = make_server("127.0.0.1", 0, create_fake_translate_app(self.state), threaded=True,
                                   request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self.state.release()            # let hanging requests end so the server can shut down
        self._server.shutdown()
