"""The floor to compare against: a Flask app that does nothing but answer POST /callback with 200.

Run under the same gunicorn settings as the bot (bench/_harness.py GUNICORN_SETTINGS), it shows
what Flask + gunicorn + the loopback cost on their own.
"""
from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/callback")
    def callback():
        return "OK", 200

    @app.get("/healthz")          # only so the harness knows the server is up
    def healthz():
        return "OK", 200

    return app
