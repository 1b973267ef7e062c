"""The advisor web inbox: server-rendered Flask blueprint with Jinja2 templates.

Flask and the views are imported by `register_inbox` (the web process), not by importing this
package: a worker imports `bot.inbox.sessions` and the like, and must not pay for Flask at start.
"""
from __future__ import annotations


def register_inbox(app, services) -> None:
    from bot.inbox import (
        announce_views,  # noqa: F401 - adds the announcement pages (admins)
        live_views,  # noqa: F401 - adds the live routes to the blueprint
    )
    from bot.inbox.pages import label_filters
    from bot.inbox.views import bp
    app.register_blueprint(bp)
    app.jinja_env.filters.update(label_filters())
