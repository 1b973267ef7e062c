"""The simulator shows the user's rich menu under the chat, in her language, and sends its taps."""
from __future__ import annotations

import pytest

from bot import LOCALES
from bot.content.i18n import Catalog
from bot.richmenu.deploy import RichMenuDeployer, build_content
from bot.richmenu.model import load_rich_menu
from bot.settings import PROJECT_ROOT
from tests.support.browser import ARTIFACTS
from tests.support.processes import wait_until

pytestmark = pytest.mark.browser


def test_simulator_shows_the_vietnamese_rich_menu_and_sends_its_taps(live, browser):  # noqa: F811
    services, line = live["services"], live["line"]
    catalog = Catalog.load(PROJECT_ROOT / "locales")
    spec = load_rich_menu(PROJECT_ROOT / "flows")
    contents = [build_content(spec, catalog, PROJECT_ROOT / "flows", locale) for locale in ("en", "vi")]
    ids = RichMenuDeployer(services.rich_menus, services.rich_menu_links, "en").deploy(contents).ids
    assert set(ids) == {"en", "vi"} and len(LOCALES) == 17
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(live["url"] + "/simulator/")
    page.wait_for_selector("#richmenu-bar:has-text('Menu')", timeout=10_000)     # the default menu (en)
    page.select_option("#lang", "vi")
    page.click("#follow")
    user_id = page.evaluate("localStorage.getItem('sim-user')")
    assert wait_until(lambda: line.state.user_richmenus.get(user_id) == ids["vi"], timeout=30), \
        [c["endpoint"] for c in line.state.calls]
    page.wait_for_selector("#richmenu-bar:has-text('Trình đơn')", timeout=10_000)
    page.wait_for_function("document.querySelector('#richmenu-panel img').naturalWidth === 2500")
    before = len(line.messages_to(user_id))
    page.click("#richmenu-panel button[aria-label='Sau khi sinh']")
    assert wait_until(lambda: len(line.messages_to(user_id)) > before, timeout=20)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "simulator-richmenu-vi.png"), full_page=True)
    assert any(c["endpoint"] == "reply" for c in line.state.calls)
