"""The announcement pages of the inbox over HTTP: admins only, CSRF, translation with back-translation
by a worker job (the real Translation client against the fake endpoint), review, segment, send."""
from __future__ import annotations

import re

import pytest
from rq import Queue
from sqlalchemy import select

from bot.adapters.tasks import TASK_QUEUE
from bot.devtools.fake_translate import FakeTranslateServer
from bot.pipeline.worker import run_worker
from bot.store.announcements import Announcement, AnnouncementTranslation
from bot.store.models import AuditEntry, User
from tests.conftest import make_settings
from tests.support.inbox import PASSWORD, csrf, login

BODY = "来月、1歳6か月児健診があります。"


@pytest.fixture
def fake_translate():
    server = FakeTranslateServer()
    yield server
    server.stop()


@pytest.fixture
def services(tmp_path, redis_server, redis_client, fake_line, database_url, shared_content, fake_translate):
    from bot.services import build_services
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, translate_backend="google",
                             google_project="demo", translate_api_endpoint=fake_translate.url, translate_timeout_s=2.0)
    services = build_services(settings, redis_client, content=shared_content)
    yield services
    services.engine.dispose()


@pytest.fixture
def parents(services):
    with services.sessions.begin() as session:
        session.add_all([User(line_user_id=f"U{locale}{i}", locale=locale, locale_chosen=True, consent=True, blocked=False,
                              municipality="toshima-ku" if i else "matsudo-shi")
                         for locale in ("ja", "vi", "ne", "ja-easy") for i in range(3)])
        session.add(User(line_user_id="Uvi-blocked", locale="vi", locale_chosen=True, consent=True, blocked=True))


def admin_login(client):
    return login(client, "admin@npo.example", PASSWORD)


def form_token(client, path: str) -> str:
    return csrf(client.get(path).data)


def create(client, locales=("ja", "vi", "ne", "ja-easy")):
    token = form_token(client, "/inbox/admin/announcements")
    return client.post("/inbox/admin/announcements", data={"csrf_token": token, "title": "健診", "body_ja": BODY,
                                                           "locales": list(locales)})


def the_announcement(services) -> Announcement:
    with services.sessions() as session:
        return session.scalars(select(Announcement)).one()


def test_advisors_are_refused_and_every_post_needs_the_csrf_token(client, advisor, services):
    login(client)                                              # an advisor, not an admin
    assert client.get("/inbox/admin/announcements").status_code == 403
    assert client.post("/inbox/admin/announcements", data={"csrf_token": csrf(client.get("/inbox/").data),
                                                           "title": "x", "body_ja": "y", "locales": ["ja"]}).status_code == 403
    client.post("/inbox/logout", data={"csrf_token": csrf(client.get("/inbox/").data)})
    admin_login(client)
    assert client.post("/inbox/admin/announcements", data={"title": "x", "body_ja": "y", "locales": ["ja"]}).status_code == 400
    assert client.post("/inbox/admin/announcements/1/send", data={"mode": "now"}).status_code == 400
    with services.sessions() as session:
        assert session.scalar(select(Announcement)) is None


def test_admin_writes_reviews_and_sends_an_announcement(client, advisor, services, parents, fake_line, fake_translate):
    admin_login(client)
    page = client.get("/inbox/admin/announcements")
    assert page.status_code == 200 and "新しいお知らせ" in page.get_data(as_text=True)
    response = create(client)
    assert response.status_code == 302
    item = the_announcement(services)
    detail = f"/inbox/admin/announcements/{item.id}"
    assert "翻訳中" in client.get(detail).get_data(as_text=True)

    run_worker(services, burst=True)                          # the translation job: vi and ne (not ja, not ja-easy)
    html = client.get(detail).get_data(as_text=True)
    assert "[vi] " + BODY in html and "[ja] [vi] " + BODY in html        # machine text and its back-translation
    assert 'id="recipient-count">3<' in html                  # only ja can go now: the others are not reviewed
    assert "まだ確認していない言語" in html

    token = csrf(client.get(detail).data)

    def post(path, **data):
        return client.post(detail + path, data={"csrf_token": token, **data})

    assert post("/translations/vi", action="review").status_code == 302
    assert post("/translations/ne", text="नेपालीमा सूचना", action="save").status_code == 302
    run_worker(services, burst=True)                          # back-translation of the edited text
    assert post("/translations/ne", action="review").status_code == 302
    assert post("/translations/ja-easy", action="exclude").status_code == 302
    html = client.get(detail).get_data(as_text=True)
    assert "[ja] नेपालीमा सूचना" in html and 'id="recipient-count">9<' in html
    assert "LINEの送信数を9通使います" in html

    assert post("/send", mode="now").status_code == 302
    run_worker(services, burst=True)
    html = client.get(detail).get_data(as_text=True)
    assert "送信済み 9 / 9 人" in html and 'data-locale="vi"' in html
    assert fake_line.texts_to("Uja-easy0") == [] and fake_line.texts_to("Uvi-blocked") == []
    assert "नेपालीमा सूचना" in fake_line.texts_to("Une1")[0]
    assert fake_line.texts_to("Uja0")[0].startswith("📢 相談窓口からのお知らせ\n\n" + BODY)
    with services.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"announce.create", "announce.review", "announce.edit", "announce.segment", "announce.schedule",
            "announce.sent"} <= actions
    # Once sending started nothing can be changed.
    assert post("/translations/vi", text="changed", action="save").status_code == 302
    assert "送信を始めたお知らせは変更できません" in client.get(detail).get_data(as_text=True)
    assert post("/translations/vi", action="retranslate").status_code == 302
    assert Queue(TASK_QUEUE, connection=services.redis).count == 0        # nothing queued for a sent notice
    with services.sessions() as session:
        vi = session.scalar(select(AnnouncementTranslation).where(AnnouncementTranslation.locale == "vi"))
        assert vi.reviewed and vi.text == "[vi] " + BODY


def test_segment_by_municipality_and_scheduling_then_cancelling(client, advisor, services, parents, fake_line):
    admin_login(client)
    create(client, locales=("ja",))
    item = the_announcement(services)
    detail = f"/inbox/admin/announcements/{item.id}"
    token = form_token(client, detail)
    client.post(detail + "/segment", data={"csrf_token": token, "locales": ["ja", "vi"], "municipalities": ["matsudo-shi"]})
    with services.sessions() as session:
        assert session.get(Announcement, item.id).segment["municipalities"] == ["matsudo-shi"]
    client.post(detail + "/translations/vi", data={"csrf_token": token, "action": "exclude"})
    assert 'id="recipient-count">1<' in client.get(detail).get_data(as_text=True)

    assert client.post(detail + "/send", data={"csrf_token": token, "mode": "schedule", "at": "2001-01-01T09:00"}).status_code == 302
    assert "予約の日時が過ぎています" in client.get(detail).get_data(as_text=True)
    client.post(detail + "/send", data={"csrf_token": token, "mode": "schedule", "at": "2099-05-01T09:30"})
    with services.sessions() as session:
        stored = session.get(Announcement, item.id)
        assert stored.status == "scheduled"
        assert services.clock.local(stored.scheduled_at).strftime("%Y-%m-%d %H:%M") == "2099-05-01 09:30"
    queue = Queue(TASK_QUEUE, connection=services.redis)
    assert queue.scheduled_job_registry.get_job_ids() == [f"announce-send-{item.id}"]
    client.post(detail + "/cancel", data={"csrf_token": token})
    assert queue.scheduled_job_registry.get_job_ids() == []
    with services.sessions() as session:
        assert session.get(Announcement, item.id).status == "draft"


def test_pages_escape_what_admins_wrote(client, advisor, services):
    admin_login(client)
    token = form_token(client, "/inbox/admin/announcements")
    client.post("/inbox/admin/announcements", data={"csrf_token": token, "title": "<script>x</script>",
                                                    "body_ja": "<b>本文</b>", "locales": ["ja"]})
    item = the_announcement(services)
    html = client.get(f"/inbox/admin/announcements/{item.id}").get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;b&gt;本文&lt;/b&gt;" in html
    assert not re.search(r"<script>(?!\s*$)", html.replace('<script type="application/json"', ""))


def test_a_send_stopped_by_the_monthly_limit_says_so_and_resumes(client, advisor, services, parents, fake_line):
    admin_login(client)
    create(client, locales=("ja",))
    item = the_announcement(services)
    detail = f"/inbox/admin/announcements/{item.id}"
    fake_line.set_quota(2, used=0)
    services.quota.refresh()                     # the page shows the hourly reading; take one now
    token = form_token(client, detail)
    before = client.get(detail).get_data(as_text=True)
    assert 'id="recipient-count">3<' in before and "今月の残り 2通" in before and "今月の残りより多い人数です" in before
    client.post(detail + "/send", data={"csrf_token": token, "mode": "now"})
    run_worker(services, burst=True)
    html = client.get(detail).get_data(as_text=True)
    assert 'id="stopped-note"' in html and "停止(月の上限)" in html and "送信済み 0 / 3 人" in html
    fake_line.set_quota(100, used=2)
    client.post(detail + "/resume", data={"csrf_token": token})
    run_worker(services, burst=True)
    assert "送信済み 3 / 3 人" in client.get(detail).get_data(as_text=True)
    with services.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"announce.stopped", "announce.resume", "announce.sent"} <= actions
