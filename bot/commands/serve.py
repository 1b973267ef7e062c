"""Commands that run the bot: worker, web, fake-line, db upgrade, dev."""
from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import SettingsError, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    worker = sub.add_parser("worker", help="process queued LINE events (RQ, no fork per job)")
    worker.add_argument("--burst", action="store_true", help="process what is queued, then exit")
    worker.add_argument("--name", help="worker name (default: generated)")
    worker.set_defaults(func=run_worker_command)

    web = sub.add_parser("web", help="run the web service with Flask's server (production: gunicorn, see app.yaml)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.set_defaults(func=run_web_command)

    fake = sub.add_parser("fake-line", help="run the fake LINE Messaging API for local development and tests")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8081)
    fake.set_defaults(func=run_fake_line_command)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply Alembic migrations up to the newest")
    upgrade.set_defaults(func=run_db_upgrade)

    dev = sub.add_parser("dev", help="run web, worker, fake LINE and the simulator together on this machine")
    dev.add_argument("--port", type=int, default=8000, help="web port (the simulator is at /simulator)")
    dev.set_defaults(func=run_dev_command)


def _settings_or_exit():
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_worker_command(args) -> int:
    from bot.adapters.redis_persistence import RedisPersistenceError
    from bot.pipeline.worker import WorkerExit, run_worker
    from bot.services import build_services
    _logging()
    services = build_services(_settings_or_exit())
    try:
        run_worker(services, burst=args.burst, name=args.name)
    except (WorkerExit, RedisPersistenceError) as exc:
        print(f"worker stopped: {exc}", file=sys.stderr)
        return 1
    return 0


def run_web_command(args) -> int:
    from bot.app import create_app
    _logging()
    try:
        app = create_app(_settings_or_exit())
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    app.run(host=args.host, port=args.port, threaded=True)
    return 0


def run_fake_line_command(args) -> int:
    from werkzeug.serving import run_simple

    from bot.devtools.fake_line import create_fake_line_app
    _logging()
    print(f"fake LINE API on http://{args.host}:{args.port}  (what it received: /_test/messages)")
    run_simple(args.host, args.port, create_fake_line_app(), threaded=True)
    return 0


def run_db_upgrade(args) -> int:
    from bot.store.database import upgrade_database
    settings = _settings_or_exit()
    upgrade_database(settings.database_url)
    print("database is at the newest schema")
    return 0


def run_dev_command(args) -> int:
    from bot.devtools.dev import run_dev
    _logging()
    return run_dev(port=args.port)
