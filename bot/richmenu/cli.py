"""`python -m bot richmenu build|deploy|check`: the rich menus, from content to LINE."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot import LOCALES


def register(sub: argparse._SubParsersAction) -> None:
    richmenu = sub.add_parser("richmenu", help="rich menus: draw, check and send to LINE")
    rm_sub = richmenu.add_subparsers(dest="richmenu_command", required=True)
    build = rm_sub.add_parser("build", help="draw one image per locale (PNG) to look at before deploying")
    build.add_argument("--out", default="instance/richmenu", help="folder for <locale>.png (default instance/richmenu)")
    build.add_argument("--locale", action="append", choices=LOCALES, help="only this locale (repeatable)")
    build.set_defaults(func=run_build)
    check = rm_sub.add_parser("check", help="check flows/richmenu.yaml, its texts and designed images offline")
    check.set_defaults(func=run_check)
    deploy = rm_sub.add_parser("deploy", help="create the menus at LINE (idempotent), aliases, default, links")
    deploy.add_argument("--no-link", action="store_true", help="do not bulk-link existing users afterwards")
    deploy.add_argument("--json", action="store_true", help="print what was done as JSON")
    deploy.set_defaults(func=run_deploy)


def _content():
    from bot.commands.content import offline_settings
    from bot.content.i18n import Catalog
    from bot.richmenu.model import load_rich_menu
    settings = offline_settings()
    return settings.flows_dir, load_rich_menu(settings.flows_dir), Catalog.load(settings.locales_dir)


def run_check(args) -> int:
    from bot.commands.content import offline_settings
    from bot.content.i18n import Catalog
    from bot.richmenu.model import check_rich_menu
    settings = offline_settings()
    problems = check_rich_menu(settings.flows_dir, Catalog.load(settings.locales_dir))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("rich menu: OK")
    return 0


def run_build(args) -> int:
    from bot.richmenu.deploy import build_content
    from bot.richmenu.model import RichMenuError
    from bot.richmenu.render import RenderError
    try:
        flows_dir, spec, catalog = _content()
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for locale in args.locale or LOCALES:
            content = build_content(spec, catalog, flows_dir, locale)
            suffix = ".png" if content.content_type == "image/png" else ".jpg"
            (out / f"{locale}{suffix}").write_bytes(content.image)
            size_kb = len(content.image) // 1024
            print(f"{out / (locale + suffix)}  {size_kb} KB  chat bar: {content.request['chatBarText']}")
    except (RichMenuError, RenderError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def run_deploy(args) -> int:
    from sqlalchemy import select

    from bot.adapters.line_richmenu import RichMenuApiError
    from bot.richmenu.deploy import RichMenuDeployer, build_content
    from bot.richmenu.model import RichMenuError
    from bot.richmenu.render import RenderError
    from bot.services import build_services
    from bot.settings import load_settings
    from bot.store.models import User

    services = build_services(load_settings())
    links, menus = services.rich_menu_links, services.rich_menus
    assert links is not None and menus is not None, "build_services always builds the rich menu adapters"
    try:
        flows_dir, spec, catalog = _content()
        contents = [build_content(spec, catalog, flows_dir, locale) for locale in LOCALES]
        deployer = RichMenuDeployer(menus, links, services.settings.default_locale)
        report = deployer.deploy(contents)
        if not args.no_link:
            with services.sessions() as session:
                users = session.execute(select(User.line_user_id, User.locale).where(User.blocked.is_(False))).all()
            report.linked = links.bulk_link([(u, loc) for u, loc in users])
    except (RichMenuError, RenderError, RichMenuApiError) as exc:
        print(f"rich menu deploy failed: {exc}", file=sys.stderr)
        return 1
    finally:
        services.engine.dispose()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"created {len(report.created)}, unchanged {len(report.unchanged)}, "
              f"aliases set {len(report.aliases_set)}, "
              f"deleted {len(report.deleted)}, default {'set' if report.default_set else 'unchanged'}, "
              f"users linked {report.linked}")
    return 0
