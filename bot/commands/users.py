"""`python -m bot users create|deactivate|reset-password`: advisor and admin accounts from the command line."""
from __future__ import annotations

import argparse
import getpass
import sys


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="advisor accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create an account (password prompted, or read from stdin)")
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=("advisor", "admin"), default="advisor")
    create.add_argument("--name",
                        help="display name in the inbox and to Japanese-reading users (default: the part before @)")
    create.add_argument("--latin-name", help="name parents who do not read Japanese see on LINE, in Latin letters "
                                             "(default: 'Advisor' in their language)")
    create.set_defaults(func=run_create)
    deactivate = users_sub.add_parser("deactivate", help="deactivate an account and end all its inbox sessions")
    deactivate.add_argument("--email", required=True)
    deactivate.set_defaults(func=run_deactivate)
    reset = users_sub.add_parser("reset-password",
                                 help="set a new password (prompted, or read from stdin) and end all sessions")
    reset.add_argument("--email", required=True)
    reset.set_defaults(func=run_reset_password)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password (10+ characters): ")
        if first != getpass.getpass("Again: "):
            raise SystemExit("the two passwords differ; nothing was created")
        return first
    return sys.stdin.readline().rstrip("\n")


def _database_and_settings():
    from bot.commands.serve import _settings_or_exit
    from bot.store.database import make_engine, make_session_factory, upgrade_database

    settings = _settings_or_exit()
    upgrade_database(settings.database_url)
    return settings, make_session_factory(make_engine(settings.database_url))


def _end_sessions(settings, advisor_id: int) -> str:
    import redis

    from bot.inbox.sessions import RedisInboxSessions, SessionStoreError
    try:
        ended = RedisInboxSessions(redis.Redis.from_url(settings.redis_url, socket_timeout=5),
                                   settings.inbox_idle_minutes).end_all(advisor_id)
    except SessionStoreError as exc:
        return f"; inbox sessions NOT ended ({exc}): run this again when Redis answers"
    return f"; {ended} inbox session(s) ended"


def _change_account(email: str, change, done: str) -> int:
    """Applies `change(advisor)` to the account of `email`, then ends all its inbox sessions."""
    from bot.inbox.auth import AccountError, find_advisor

    settings, sessions = _database_and_settings()
    try:
        with sessions.begin() as session:
            advisor = find_advisor(session, email)
            change(advisor)
            advisor_id, email = advisor.id, advisor.email
    except AccountError as exc:
        print(f"not changed: {exc}", file=sys.stderr)
        return 1
    print(f"{done} {email}{_end_sessions(settings, advisor_id)}")
    return 0


def run_deactivate(args) -> int:
    def deactivate(advisor) -> None:
        advisor.active = False
    return _change_account(args.email, deactivate, "deactivated")


def run_reset_password(args) -> int:
    from bot.inbox.auth import reset_password
    return _change_account(args.email, lambda advisor: reset_password(advisor, _read_password()),
                           "new password set for")


def run_create(args) -> int:
    from bot.inbox.auth import AccountError, create_advisor

    settings, sessions = _database_and_settings()
    try:
        with sessions.begin() as session:
            advisor = create_advisor(session, args.email, _read_password(), args.role, args.name, args.latin_name)
            print(f"created {advisor.role} {advisor.email}")
    except AccountError as exc:
        print(f"not created: {exc}", file=sys.stderr)
        return 1
    return 0
