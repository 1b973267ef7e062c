"""`python -m bot resources check` and `python -m bot resources import FILE.csv`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT

DEFAULT_DIR = PROJECT_ROOT / "resources"


def register(sub: argparse._SubParsersAction) -> None:
    resources = sub.add_parser("resources", help="the municipal resource index (resources/)")
    resources_sub = resources.add_subparsers(dest="resources_command", required=True)
    check = resources_sub.add_parser("check", help="check entries and texts; exit 1 on any error")
    check.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the resources folder (default: resources/)")
    check.set_defaults(func=run_check)
    imports = resources_sub.add_parser("import", help="add a city's open-data CSV list to the index")
    imports.add_argument("file", type=Path, metavar="FILE.csv", help="UTF-8 CSV, columns as in resources/README.md")
    imports.add_argument("--municipality", help="slug such as toshima-ku (default: the CSV's `municipality` column)")
    imports.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the resources folder (default: resources/)")
    imports.add_argument("--dry-run", action="store_true", help="only report what would be imported")
    imports.set_defaults(func=run_import)


def run_check(args) -> int:
    from bot.content.adminmsg import msg
    from bot.resources.check import check_resources
    problems = check_resources(args.dir)
    errors = [p for p in problems if not p.warning]
    for problem in sorted(problems, key=lambda p: p.warning):
        print(problem)
    warnings = len(problems) - len(errors)
    if errors:
        print("\n" + msg("resources.summary_errors", errors=len(errors), warnings=warnings), file=sys.stderr)
        return 1
    print(msg("resources.ok", warnings=warnings))
    return 0


def run_import(args) -> int:
    from bot.resources.csv_import import ImportError_, import_csv
    try:
        report = import_csv(args.file, args.dir, municipality=args.municipality, dry_run=args.dry_run)
    except ImportError_ as exc:
        print(f"{exc}", file=sys.stderr)
        return 2
    print(report.render())
    return 1 if report.rejected and not report.imported else 0
