"""`python -m bot ...`: one entry point for every command-line tool.

Each feature module exposes `register(subparsers)` that adds its subcommand(s) and sets
`func=<callable(args) -> int>`; this module only collects them.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "bot.commands.serve",
    "bot.commands.content",
    "bot.commands.users",
    "bot.commands.dead_letters",
    "bot.resources.cli",
    "bot.dialogue.evaluation",
    "bot.richmenu.cli",
    "bot.commands.classifier",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
