"""Announcements in a real browser at 360 px: an admin writes, reviews and sends; the simulator shows it arrive."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.inbox.auth import create_advisor
from bot.store.announcements import Announcement
from bot.store.models import User
from tests.support.browser import ARTIFACTS, PASSWORD
from tests.support.processes import wait_until

pytestmark = pytest.mark.browser


def fits_the_screen(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def consented(services, user_id: str) -> bool:
    with services.sessions() as session:
        return bool(session.scalar(select(User.consent).where(User.line_user_id == user_id)))


def status_of(services, announcement_id: int) -> str:
    with services.sessions() as session:
        return session.get(Announcement, announcement_id).status


def test_admin_sends_an_announcement_on_a_phone_and_the_simulator_shows_it(live, browser):
    url, services = live["url"], live["services"]
    with services.sessions.begin() as session:
        create_advisor(session, "admin@npo.example", PASSWORD, "admin", "管理者")

    parent = browser.new_page(viewport={"width": 360, "height": 740})
    parent.goto(url + "/simulator/")
    parent.select_option("#lang", "vi")
    parent.click("#follow")
    parent.wait_for_selector("#quick button", timeout=90_000)       # the worker loads content first
    user_id = parent.evaluate("localStorage.getItem('sim-user')")
    parent.locator("#quick button").first.click()                   # the privacy notice: agree
    assert wait_until(lambda: consented(services, user_id), timeout=30)

    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(url + "/inbox/login")
    page.fill("input[name=email]", "admin@npo.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(url + "/inbox/admin/announcements")
    assert fits_the_screen(page)
    page.fill("input[name=title]", "健診のお知らせ")
    page.fill("textarea[name=body_ja]", "来月、1歳6か月児健診があります。")
    for box in page.locator("input[name=locales]").all():
        if box.get_attribute("value") not in ("ja", "vi"):
            box.uncheck()
    page.click("#new-announcement button")
    page.wait_for_selector("#segment")
    for _ in range(180):                                  # the worker's translation job (slow on a busy machine)
        if page.locator("#tr-vi .back-translation").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    page.click("#tr-vi button[value=review]")
    page.wait_for_selector("#tr-vi .reviewed")
    assert page.inner_text("#recipient-count") == "1" and fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "announce-phone-review.png"), full_page=True)
    page.click("#send button[value=now]")
    assert wait_until(lambda: status_of(services, 1) == "sent", timeout=180)
    page.reload()
    assert "送信済み 1 / 1 人" in page.inner_text("#delivery-report") and fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "announce-phone-report.png"), full_page=True)

    parent.wait_for_selector("text=announcement (multicast", timeout=30_000)
    parent.wait_for_selector("text=Thông báo từ bàn tư vấn")
    parent.screenshot(path=str(ARTIFACTS / "simulator-announcement.png"), full_page=True)
