"""create_app: the web service (webhook, health, and in dev mode the simulator)."""
from __future__ import annotations

import logging
import os

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.adapters.redis_persistence import check_redis_persistence
from bot.inbox import register_inbox
from bot.pipeline.logsafe import install_log_scrubbing
from bot.services import Services, build_services
from bot.settings import Settings, SettingsError, load_settings
from bot.web.webhook import WebhookDispatch
from bot.web.webhook import bp as webhook_bp

log = logging.getLogger(__name__)

# No inline script anywhere outside the dev simulator: an injected <script> cannot run.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'; form-action 'self'; object-src 'none'")
MISSING_SECRET_KEY = (
    "SECRET_KEY is not set: every web process must sign inbox cookies with the same key, or logins "
    "fail at random between processes. Create one (python3 -c 'import secrets; print(secrets.token_urlsafe(48))'), "
    "store it in Secret Manager and pass it as the SECRET_KEY environment variable (docs/deploy.md). "
    "Only BOT_DEV_MODE=1 runs without it.")


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    install_log_scrubbing()
    settings = settings or (services.settings if services else load_settings())
    if not settings.secret_key and not settings.dev_mode:
        raise SettingsError(MISSING_SECRET_KEY)
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
    if settings.trusted_proxy_hops:
        # The login rate limit keys on the client's address: take it from exactly the
        # X-Forwarded-For entries our own proxies add, never from what a client could write.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to add middleware
            app.wsgi_app, x_for=settings.trusted_proxy_hops, x_proto=1)
    # POST /callback is answered before Flask's machinery, which it does not need (bot/web/webhook.py).
    app.wsgi_app = WebhookDispatch(  # type: ignore[method-assign]
        app.wsgi_app, services.event_queue, settings.line_channel_secret, security_headers(settings.dev_mode))

    app.register_blueprint(webhook_bp)
    register_inbox(app, services)
    if settings.dev_mode:
        from bot.devtools.simulator import register_simulator
        register_simulator(app, services)
    app.after_request(_security_headers(settings.dev_mode))
    return app


def security_headers(dev_mode: bool, scripts_allowed: bool = False) -> list[tuple[str, str]]:
    """The headers every answer carries; `scripts_allowed` (the dev simulator) drops the CSP."""
    headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")]
    if not scripts_allowed:
        headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
    if not dev_mode:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def _security_headers(dev_mode: bool):
    everywhere = security_headers(dev_mode)
    simulator = security_headers(dev_mode, scripts_allowed=True)

    def add_headers(response):
        chosen = simulator if dev_mode and request.path.startswith("/simulator") else everywhere
        for name, value in chosen:
            response.headers.setdefault(name, value)
        return response
    return add_headers
