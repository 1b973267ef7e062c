"""The rich menu as content, offline: an admin's designed image wins over the drawn one, and
`flows check` (check_all) includes the rich menu check."""
from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image

from bot.content.checks import check_all
from bot.content.i18n import Catalog
from bot.richmenu.deploy import build_content
from bot.richmenu.model import load_rich_menu
from tests.conftest import REPO


def test_a_designed_image_is_sent_as_it_is_and_changes_the_menus_name(tmp_path):
    flows = tmp_path / "flows"
    (flows / "richmenu" / "images").mkdir(parents=True)
    shutil.copy(REPO / "flows" / "richmenu.yaml", flows / "richmenu.yaml")
    catalog = Catalog.load(REPO / "locales")
    spec = load_rich_menu(flows)
    drawn = build_content(spec, catalog, flows, "ne")
    buffer = io.BytesIO()
    Image.new("RGB", (spec.width, spec.height), "#336699").save(buffer, format="JPEG")
    (flows / "richmenu" / "images" / "ne.jpg").write_bytes(buffer.getvalue())
    designed = build_content(spec, catalog, flows, "ne")
    assert designed.image == buffer.getvalue() and designed.content_type == "image/jpeg"
    assert designed.request["name"] != drawn.request["name"]       # a redeploy replaces the Nepali menu
    assert build_content(spec, catalog, flows, "vi").content_type == "image/png"   # other locales: drawn


@pytest.mark.slow          # check_all loads all content
def test_flows_check_includes_the_rich_menu_check(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    menu = flows / "richmenu.yaml"
    menu.write_text(menu.read_text(encoding="utf-8").replace("x: 833,  y: 0,", "x: 800,  y: 0,", 1), encoding="utf-8")
    problems = check_all(REPO / "locales", flows, REPO / "resources")
    assert any("richmenu.yaml" in p and "'birth' and 'visa' overlap" in p for p in problems), problems
