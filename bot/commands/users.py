"""`python -m bot users create`: advisor and admin accounts from the command line."""
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
    create.add_argument("--name", help="display name in the inbox and to Japanese-reading users (default: the part before @)")
    create.add_argument("--latin-name", help="name parents who do not read Japanese see on LINE, in Latin letters "
                                             "(default: 'Advisor' in their language)")
    create.set_defaults(func=run_create)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password (10+ characters): ")
        if first != getpass.getpass("Again: "):
            raise SystemExit("the two passwords differ; nothing was created")
        return first
    return sys.stdin.readline().rstrip("\n")


def run_create(args) -> int:
    from bot.commands.serve import _settings_or_exit
    from bot.inbox.auth import AccountError, create_advisor
    from bot.store.database import make_engine, make_session_factory, upgrade_database

    settings = _settings_or_exit()
    upgrade_database(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    try:
        with sessions.begin() as session:
            advisor = create_advisor(session, args.email, _read_password(), args.role, args.name, args.latin_name)
            print(f"created {advisor.role} {advisor.email}")
    except AccountError as exc:
        print(f"not created: {exc}", file=sys.stderr)
        return 1
    return 0
