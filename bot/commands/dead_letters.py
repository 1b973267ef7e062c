"""`python -m bot dead-letter list|replay|drop`: events set aside after failing on their own content.

An event is set aside only when it failed DEAD_LETTER_AFTER_ATTEMPTS times, spread over
minutes, for a reason of its own (outages never count). After fixing the cause (a content
edit, a new release), `replay` puts it back at the end of its user's list.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dead-letter", help="events set aside after repeated failures: list, replay, drop")
    commands = parser.add_subparsers(dest="dead_letter_command", required=True)
    listing = commands.add_parser("list", help="every entry still kept (they expire after DEAD_LETTER_DAYS)")
    listing.add_argument("--json", action="store_true", help="machine-readable, with the raw events")
    listing.set_defaults(func=run_list)
    for name, helptext, func in (("replay", "put entries back at the end of their user's list", run_replay),
                                 ("drop", "delete entries for good", run_drop)):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("ids", nargs="*", metavar="ID", help="entry ids from `list`")
        command.add_argument("--all", action="store_true", help="every entry")
        command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)


def _services():
    from bot.commands.serve import _settings_or_exit
    from bot.services import build_services
    return build_services(_settings_or_exit())


def _time(unix: float) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).isoformat(timespec="seconds")


def run_list(args) -> int:
    entries = _services().dead_letters.list()
    if args.json:
        print(json.dumps([{**e.summary(), "set_aside_at": _time(e.set_aside_at), "event": e.event} for e in entries],
                         ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("no events set aside")
    for e in entries:
        print(f"{e.id}  {_time(e.set_aside_at)}  {e.event_type:<10} chat {e.partition[:12]}…  {e.reason[:100]}")
    return 0


def _chosen(services, args) -> tuple[list, list[str]]:
    entries = {e.id: e for e in services.dead_letters.list()}
    ids = list(entries) if args.all else args.ids
    return [entries[i] for i in ids if i in entries], [i for i in ids if i not in entries]


def run_replay(args) -> int:
    services = _services()
    chosen, unknown = _chosen(services, args)
    for entry in chosen:
        services.inbox.replay(entry.event, entry.partition)
        services.dead_letters.drop(entry.id)
    return _report(args, "replayed", chosen, unknown)


def run_drop(args) -> int:
    services = _services()
    chosen, unknown = _chosen(services, args)
    for entry in chosen:
        services.dead_letters.drop(entry.id)
    return _report(args, "dropped", chosen, unknown)


def _report(args, verb: str, done: list, unknown: list[str]) -> int:
    if args.json:
        print(json.dumps({verb: [e.id for e in done], "unknown": unknown}))
    else:
        print(f"{verb} {len(done)} entries" + (f"; unknown ids: {', '.join(unknown)}" if unknown else ""))
    if not done and not unknown and not args.all:
        print("give entry ids (from `list`) or --all", file=sys.stderr)
        return 2
    return 1 if unknown else 0
