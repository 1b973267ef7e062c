"""Escalations inside an open case, the live feed, Japanese labels and glosses, presence, assignment."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.adapters.notify import WebhookNotifier
from bot.cases.live import RedisLiveFeed
from bot.inbox.gloss import Gloss
from bot.inbox.pages import sorted_canned
from bot.inbox.stats import build_dashboard, week_start
from bot.store.models import AuditEntry, Case, Message
from tests.support.fake_servers import FakeWebhookServer
from tests.support.inbox import csrf, login

NOT_BREATHING = "Con tôi không thở"          # Vietnamese: "my child is not breathing"
ENGLISH_CODES = ("waiting", "assigned", "waiting_user", "resolved", "urgent", "high", "normal", "visa", "medical",
                 "pregnancy", "childcare", "money", "legal", "violence", "living")
RAW_POSTBACK = re.compile(r"\b(f|cmd|lang|lang-page|privacy|res|fb|case|muni):[\w@:.-]+|ボタン: None")


def open_person_case(bot, user_id="Uvi-esc"):
    bot.follow(user_id, language="vi")
    bot.tap(user_id, "f:main_menu:menu:birth")
    bot.tap(user_id, "f:main_menu:menu:person")
    bot.say(user_id, "Tôi muốn hỏi về giấy khai sinh")
    with bot.services.sessions() as session:
        return session.scalar(select(Case).where(Case.status != "resolved").order_by(Case.id.desc())).id


def events_after(services, after="0-0"):
    return [event for _id, event in RedisLiveFeed(services.redis).read(after)]


def test_emergency_inside_an_open_case_escalates_it(bot, services):
    case_id = open_person_case(bot)
    with services.sessions() as session:
        case = session.get(Case, case_id)
        assert case.priority == "normal" and not (case.reason or "").startswith("triage: emergency")
    start = RedisLiveFeed(services.redis).latest_id()
    hook = FakeWebhookServer()
    services.notifiers = [WebhookNotifier(hook.url)]               # the burst worker runs the notice job
    answer = bot.say("Uvi-esc", NOT_BREATHING)
    hook.shutdown()
    assert any("EMERGENCY IN OPEN CASE" in json.dumps(r) and f"#{case_id}" in json.dumps(r) for r in hook.received)
    # Japanese first, with the inbox's words (no raw codes): 【緊急】対応中の相談で緊急事態 #N(ベトナム語・医療)
    assert any(f"【緊急】対応中の相談で緊急事態 #{case_id}" in json.dumps(r, ensure_ascii=False) for r in hook.received)
    assert any("119" in text for text in answer)                   # the numbers first, as always
    with services.sessions() as session:
        case = session.get(Case, case_id)
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.escalate")).all()
        trigger = session.scalar(select(Message).where(Message.text == NOT_BREATHING))
    assert case.priority == "urgent" and case.reason.startswith("triage: emergency/")
    assert case.topic == "medical"                                  # no longer the topic it opened with
    assert len(entries) == 1 and entries[0].detail["event_id"] == trigger.event_id
    assert entries[0].detail["before"]["priority"] == "normal"
    assert [e["kind"] for e in events_after(services, start)].count("escalated") == 1


def test_every_emergency_message_counts_in_the_dashboard(bot, services):
    case_id = open_person_case(bot)
    for _ in range(4):
        bot.say("Uvi-esc", NOT_BREATHING)
    with services.sessions() as session:
        board = build_dashboard(session, datetime.now(UTC).date())
        week = week_start(datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).date())
        assert board.safety_by_week[week]["emergency"] == 4
        assert session.get(Case, case_id).status != "resolved"


def test_case_page_is_japanese_with_glosses_and_the_escalated_message_marked(client, advisor, bot, services):
    case_id = open_person_case(bot)
    bot.say("Uvi-esc", NOT_BREATHING)
    login(client)
    page = client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    header = re.search(r'id="case-header".*?</div>\s*</div>', page, re.S).group(0)
    assert "緊急" in header and "ベトナム語" in header and "医療" in header
    visible = (re.sub(r'<div class="body">.*?</div>|<script.*?</script>|<style.*?</style>|'
                                           r'<option[^>]*value="[^"]*"|<[^>]+>', " ", page, flags=re.S))
    assert not [w for w in ENGLISH_CODES if re.search(rf"\b{w}\b", visible)]
    assert not RAW_POSTBACK.search(visible)
    assert "ボタン: 出産後の手続き" in page                         # the tap as the button's Japanese label
    bot_messages = re.findall(r'<div class="msg out bot".*?(?=<div class="msg |</section>|<div class="card" id="reply)', page, re.S)
    missing = [re.sub(r'\s+', ' ', m)[:300] for m in bot_messages if 'lang="ja">日本語: ' not in m]
    assert len(bot_messages) >= 5 and not missing, missing   # Japanese beside each
    assert page.count('class="msg in user escalated"') == 1


def test_english_labels_are_an_advisors_choice(client, advisor, bot):
    case_id = open_person_case(bot)
    login(client)
    japanese = client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "利用者が相談員を希望" in japanese and "user asked for a person" not in japanese   # the reason too
    token = csrf(client.get("/inbox/").data)
    client.post("/inbox/prefs/ui-language", data={"ui_lang": "en", "csrf_token": token})
    page = client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "Vietnamese" in page and ">normal<" in page and "user asked for a person" in page
    assert client.post("/inbox/prefs/ui-language", data={"ui_lang": "xx", "csrf_token": token}).status_code == 400


def test_live_stream_and_polling_fallback_carry_case_events(client, advisor, bot, services, monkeypatch):
    from bot.inbox import live_views
    monkeypatch.setattr(live_views, "STREAM_SECONDS", 1)            # a short stream: the test reads it to its end
    login(client)
    start = RedisLiveFeed(services.redis).latest_id()
    case_id = open_person_case(bot)
    bot.say("Uvi-esc", NOT_BREATHING)
    response = client.get(f"/inbox/api/live?after={start}")
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)                         # ends by itself: bounded duration
    assert body.startswith("retry: ")
    kinds = [json.loads(line[6:])["kind"] for line in body.splitlines() if line.startswith("data: ")]
    assert "new" in kinds and "escalated" in kinds
    polled = client.get(f"/inbox/api/live/poll?after={start}").get_json()
    assert {"new", "escalated"} <= {e["kind"] for e in polled["events"]} and polled["last"] != start
    assert all("text" not in e for e in polled["events"])            # ids and codes only, never message text
    updates = client.get(f"/inbox/cases/{case_id}/updates?after=0").get_json()
    assert NOT_BREATHING in updates["messages"] and "escalated" in updates["messages"]
    assert client.get(f"/inbox/cases/{case_id}/updates?after={updates['last']}").get_json()["messages"].strip() == ""


def test_live_stream_refused_beyond_its_limit_so_the_page_polls(client, advisor, monkeypatch):
    import threading

    from bot.inbox import live_views
    monkeypatch.setattr(live_views, "_streams", threading.BoundedSemaphore(1))
    live_views._streams.acquire()                                  # the one allowed stream is taken
    login(client)
    assert client.get("/inbox/api/live").status_code == 204


def test_presence_and_assignment_with_a_notice_for_the_assignee(app, advisor, bot, services):
    from bot.store.models import Advisor
    case_id = open_person_case(bot)
    tanaka, admin = app.test_client(), app.test_client()
    for c in (tanaka, admin):
        c.environ_base["wsgi.url_scheme"] = "https"
    login(tanaka)
    login(admin, email="admin@npo.example")
    for c in (tanaka, admin):
        token = csrf(c.get(f"/inbox/cases/{case_id}").data)
        viewers = c.post(f"/inbox/cases/{case_id}/presence", data={"csrf_token": token}).get_json()["viewers"]
    assert sorted(viewers) == ["田中", "管理者"]
    assert "いま見ている人" in tanaka.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    with services.sessions() as session:
        tanaka_id = session.scalar(select(Advisor.id).where(Advisor.email == "tanaka@npo.example"))
    start = RedisLiveFeed(services.redis).latest_id()
    token = csrf(admin.get(f"/inbox/cases/{case_id}").data)
    admin.post(f"/inbox/cases/{case_id}/action", data={"action": "assign", "to_advisor": tanaka_id, "csrf_token": token})
    assigned = [e for e in events_after(services, start) if e["kind"] == "assigned"]
    assert assigned and assigned[0]["to"] == tanaka_id and assigned[0]["case"] == case_id
    mine = tanaka.get("/inbox/?mine=1").get_data(as_text=True)
    assert f'data-case="{case_id}"' in mine and "自分の担当のケース" in mine


def test_gloss_reads_taps_and_bot_texts(shared_content):
    content = shared_content.current()
    gloss = Gloss(content)
    assert gloss.tap("f:main_menu:menu:birth") == content.catalog.text("ja", "menu.birth")
    assert gloss.tap(None) == gloss.tap("None") == "(内容の分からないボタン)"
    assert gloss.tap("lang:vi") == "言語を選ぶ: ベトナム語"
    vietnamese = content.catalog.text("vi", "handoff.opened", minutes=15)
    assert gloss.bot_text(vietnamese, "vi") == content.catalog.text("ja", "handoff.opened", minutes=15)
    assert gloss.bot_text("something the catalog never said", "vi") is None


def test_gloss_writes_dates_in_japanese_for_every_locale(shared_content):
    from bot import LOCALES
    from bot.inbox.gloss import VARIABLE
    content = shared_content.current()
    catalog, gloss = content.catalog, Gloss(content)
    keys = [k for k, v in catalog.texts["ja"].items() if isinstance(v, str) and "| date" in v and "{%" not in v]
    wrong, checked = [], 0
    for key in keys:
        filters = {m.group(1): m.group(2) for m in VARIABLE.finditer(catalog.texts["ja"][key])}
        values = {name: "2026-12-07" if kind == "date" else 3 if kind == "number" else f"V{i}"
                  for i, (name, kind) in enumerate(filters.items())}
        japanese = catalog.text("ja", key, **values)
        for locale in LOCALES:
            if locale != "ja" and catalog.has(locale, key):
                checked += 1
                if gloss.bot_text(catalog.text(locale, key, **values), locale) != japanese:
                    wrong.append((locale, key))
    assert len(keys) >= 20 and checked >= 300 and not wrong, wrong   # "2026年12月7日(月)", never "Thứ Hai, 07/12/2026"


def test_gloss_gives_a_resource_answers_japanese_title_in_every_locale(shared_content):
    from bot import LOCALES
    content = shared_content.current()
    index, gloss = content.index, Gloss(content)
    wrong, checked = [], 0
    for locale in LOCALES:
        for entry_id in index.ids():
            shown, japanese = index.known_text(entry_id, locale), index.text(entry_id, "ja")
            if locale == "ja" or shown is None or japanese is None:
                continue
            checked += 1                                          # the first line the bot sends: "■ <title>"
            if gloss.bot_text(f"■ {shown.title}\n\n{shown.answer}", locale) != f"資料: {japanese.title}":
                wrong.append((locale, entry_id))
    assert checked >= 16 * 40 and not wrong, wrong


def test_canned_replies_all_shown_with_the_topic_first():
    replies = [{"id": "a", "topic": "any"}, {"id": "b", "topic": "visa"}, {"id": "c", "topic": "medical"}]
    assert [r["id"] for r in sorted_canned(replies, "medical")] == ["c", "a", "b"]


@pytest.mark.parametrize("stored", [datetime(2026, 1, 1, 15, 30), datetime(2026, 1, 1, 15, 30, tzinfo=UTC)])
def test_times_are_shown_in_japan_time(stored):
    from bot.inbox.timefmt import jst
    assert jst(stored) == "01/02 00:30"
