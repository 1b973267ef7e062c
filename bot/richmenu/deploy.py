"""`python -m bot richmenu deploy`: one menu per locale at LINE, idempotently.

Each menu's name carries a hash of its request and image, so a redeploy recognises the menus LINE
already has and creates nothing; a changed menu is created anew, its alias moved to it, and the
old one deleted. Only menus this bot made (names starting "lcb ") are ever deleted.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.adapters.line_richmenu import LineRichMenus
from bot.content.i18n import Catalog
from bot.richmenu.links import RichMenuLinks, alias_for
from bot.richmenu.model import RichMenuSpec
from bot.richmenu.render import render_menu

NAME_PREFIX = "lcb "


@dataclass(frozen=True)
class MenuContent:
    locale: str
    request: dict
    image: bytes
    content_type: str
    digest: str


@dataclass
class DeployReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    aliases_set: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    default_set: bool = False
    ids: dict[str, str] = field(default_factory=dict)
    linked: int = 0

    def as_dict(self) -> dict:
        return {"created": self.created, "unchanged": self.unchanged, "aliases_set": self.aliases_set,
                "deleted": self.deleted, "default_set": self.default_set, "ids": self.ids, "linked": self.linked}


def build_content(spec: RichMenuSpec, catalog: Catalog, flows_dir: Path, locale: str) -> MenuContent:
    """The image (an admin's designed one if present, else drawn) and LINE's request, named by hash."""
    designed = spec.designed_image(flows_dir, locale)
    if designed:
        image = designed.read_bytes()
        content_type = "image/png" if designed.suffix == ".png" else "image/jpeg"
    else:
        image, content_type = render_menu(spec, catalog, locale).png, "image/png"
    request = spec.request(catalog, locale, name="")
    digest = hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode() + image).hexdigest()
    request["name"] = f"{NAME_PREFIX}{locale} {digest[:16]}"
    return MenuContent(locale, request, image, content_type, digest)


class RichMenuDeployer:
    def __init__(self, api: LineRichMenus, links: RichMenuLinks, default_locale: str):
        self._api = api
        self._links = links
        self._default = default_locale

    def deploy(self, contents: list[MenuContent]) -> DeployReport:
        report = DeployReport()
        existing = {m["name"]: m["richMenuId"] for m in self._api.list_menus()}
        for content in contents:
            menu_id = existing.get(content.request["name"])
            if menu_id:
                report.unchanged.append(content.locale)
            else:
                menu_id = self._create(content)
                report.created.append(content.locale)
            report.ids[content.locale] = menu_id
        self._point_aliases(report)
        default_id = report.ids.get(self._default)
        if default_id and self._api.default_menu() != default_id:
            self._api.set_default(default_id)        # users whose language is unknown see this one
            report.default_set = True
        self._links.save(report.ids)
        for name, menu_id in existing.items():
            if name.startswith(NAME_PREFIX) and menu_id not in report.ids.values():
                self._api.delete(menu_id)           # replaced by a changed menu
                report.deleted.append(name)
        return report

    def _create(self, content: MenuContent) -> str:
        menu_id = self._api.create(content.request)
        try:
            self._api.upload_image(menu_id, content.image, content.content_type)
        except Exception:
            self._api.delete(menu_id)               # no menu without its image: the next run starts clean
            raise
        return menu_id

    def _point_aliases(self, report: DeployReport) -> None:
        aliases = self._api.aliases()
        for locale, menu_id in report.ids.items():
            alias_id = alias_for(locale)
            if aliases.get(alias_id) != menu_id:
                self._api.set_alias(alias_id, menu_id, exists=alias_id in aliases)
                report.aliases_set.append(alias_id)
