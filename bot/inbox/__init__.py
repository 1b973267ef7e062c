"""The advisor web inbox: server-rendered Flask blueprint with Jinja2 templates."""
from __future__ import annotations

from bot.inbox.views import bp


def register_inbox(app, services) -> None:
    app.register_blueprint(bp)
