"""create_app: the web service (webhook, health, and in dev mode the simulator)."""
from __future__ import annotations

import logging
import os

from flask import Flask

from bot.adapters.redis_persistence import check_redis_persistence
from bot.inbox import register_inbox
from bot.logsafe import install_log_scrubbing
from bot.services import Services, build_services
from bot.settings import Settings, load_settings
from bot.webhook import bp as webhook_bp

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    install_log_scrubbing()
    settings = settings or (services.settings if services else load_settings())
    services = services or build_services(settings)
    check_redis_persistence(services.redis, settings.redis_persistence_check, "web")
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,   # forms; /callback enforces LINE's 1 MiB itself
        SECRET_KEY=settings.secret_key or os.urandom(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.dev_mode,
    )
    app.extensions["bot.services"] = services

    app.register_blueprint(webhook_bp)
    register_inbox(app, services)
    if settings.dev_mode:
        from bot.devtools.simulator import register_simulator
        register_simulator(app, services)
    return app
