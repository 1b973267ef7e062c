"""`python -m bot ...`: one entry point for every command-line tool.

Each feature module exposes `register(subparsers)` that adds its subcommand(s) and sets
`func=<callable(args) -> int>`; this module only collects them. A known command imports only
the module that registers it (`python -m bot worker` need not import the evaluation or import
tools); anything else (`--help`, a typo) builds the whole parser, so usage and errors are as before.
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

# Which module registers each top-level command (tests/unit/test_cli.py checks it against COMMAND_MODULES).
COMMAND_MODULE_OF = {
    "worker": "bot.commands.serve", "web": "bot.commands.serve", "fake-line": "bot.commands.serve",
    "db": "bot.commands.serve", "dev": "bot.commands.serve",
    "flows": "bot.commands.content", "chat": "bot.commands.content",
    "users": "bot.commands.users", "dead-letter": "bot.commands.dead_letters", "resources": "bot.resources.cli",
    "eval-faq": "bot.dialogue.evaluation", "richmenu": "bot.richmenu.cli", "classifier": "bot.commands.classifier",
}


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    module = COMMAND_MODULE_OF.get(argv[0]) if argv else None
    args = build_parser((module,) if module else COMMAND_MODULES).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
