"""The advisor web inbox: server-rendered Flask blueprint with Jinja2 templates."""
from __future__ import annotations

from bot.inbox import (
    announce_views,  # noqa: F401 - adds the announcement pages (admins)
    live_views,  # noqa: F401 - adds the live routes to the blueprint
)
from bot.inbox.pages import label_filters
from bot.inbox.views import bp


def register_inbox(app, services) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters.update(label_filters())
