"""Consent, deletion (nothing left anywhere), retention at its boundary, and log scrubbing."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.store.erase import export_user
from bot.store.models import Base, Case, Message, Question, RetentionRun, User
from bot.store.retention import run_retention

LINE_ID = "U" + "4f" * 16          # a real-looking LINE user id (U + 32 hex digits)


def agree(bot, user_id=LINE_ID, language="en", name="Nguyen Thi Lan"):
    bot.follow(user_id, language=language, name=name, agree=False)
    bot.tap(user_id, "privacy:agree")


def test_first_contact_shows_the_privacy_notice_and_stores_no_text_before_consent(bot, services):
    texts = bot.follow(LINE_ID, language="en", agree=False)
    assert any("privacy" in t.lower() for t in texts)
    bot.say(LINE_ID, "my husband passport number is 12345")
    with services.sessions() as session:
        stored = session.scalars(select(Message.text).where(Message.direction == "in")).all()
        user = session.scalar(select(User))
    assert all(t is None or "12345" not in t for t in stored)
    assert user.consent is None and user.locale == "en"


def test_after_agreeing_the_menu_opens_and_messages_are_kept(bot, services):
    agree(bot)
    bot.say(LINE_ID, "hello there")
    with services.sessions() as session:
        user = session.scalar(select(User))
        assert "hello there" in session.scalars(select(Message.text)).all()
    assert user.consent is True and user.consent_at is not None


def test_declining_keeps_only_the_language(bot, services):
    bot.follow(LINE_ID, language="vi", agree=False)
    bot.tap(LINE_ID, "privacy:decline")
    bot.say(LINE_ID, "talk to a person")
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(User.consent)) is False


def test_delete_my_data_leaves_nothing_of_the_user(bot, services, redis_client, monkeypatch):
    from bot.cases.hours import DeskHours
    monkeypatch.setattr(DeskHours, "is_open", lambda self, moment: True)
    agree(bot)
    bot.say(LINE_ID, "talk to a person")
    bot.say(LINE_ID, "my baby has a rash since yesterday")
    redis_client.set("bot:tr:en:ja:" + __import__("hashlib").sha256(b"my baby has a rash since yesterday").hexdigest(), "x")
    bot.say(LINE_ID, "delete my data")
    bot.tap(LINE_ID, "privacy:delete")
    assert any("deleted" in t.lower() for t in bot.line.texts_to(LINE_ID))
    with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c.name for c in table.columns]
            for row in session.execute(table.select()).all():
                dumped = " ".join(str(v) for v in row)
                assert LINE_ID not in dumped and "rash" not in dumped and "Nguyen" not in dumped, (table.name, columns)
        case = session.scalar(select(Case))
    assert case is not None and case.user_id is None            # an anonymous count stays
    for key in redis_client.scan_iter():
        assert LINE_ID.encode() not in key, key
        assert b"rash" not in (redis_client.dump(key) or b"")
    assert not list(redis_client.scan_iter(match="bot:tr:*"))


def test_export_has_the_users_messages(bot, services):
    agree(bot)
    bot.say(LINE_ID, "hello export")
    with services.sessions() as session:
        data = export_user(session, LINE_ID)
    assert data["user"]["line_user_id"] == LINE_ID
    assert any(m["text"] == "hello export" for m in data["messages"])


def test_retention_deletes_exactly_what_is_older_than_the_period(services):
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with services.sessions.begin() as session:
        user = User(line_user_id="Uret", locale="en", locale_chosen=True, blocked=False, consent=True)
        session.add(user)
        session.flush()
        for age, label in ((timedelta(days=365, seconds=1), "old"), (timedelta(days=365), "boundary"),
                           (timedelta(days=364), "young")):
            session.add(Message(user_id=user.id, direction="in", sender="user", kind="text", text=label,
                                created_at=now - age))
        session.add(Case(user_id=user.id, locale="en", topic="visa", priority="normal", priority_rank=2,
                         status="resolved", resolved_at=now - timedelta(days=400), created_at=now - timedelta(days=401)))
        session.add(Case(user_id=user.id, locale="en", topic="visa", priority="normal", priority_rank=2,
                         status="waiting", created_at=now - timedelta(days=400)))
        session.add(Question(user_id=user.id, text="q", locale="en", outcome="not_found", created_at=now - timedelta(days=366)))
    with services.sessions.begin() as session:
        run = run_retention(session, now, keep_days=365)
    with services.sessions() as session:
        kept = set(session.scalars(select(Message.text)).all())
        statuses = session.scalars(select(Case.status)).all()
        runs = session.scalar(select(func.count()).select_from(RetentionRun))
    assert kept == {"boundary", "young"}
    assert statuses == ["waiting"]                       # an open case is never deleted by age
    assert (run.messages_deleted, run.cases_deleted, run.questions_deleted) == (1, 1, 1) and runs == 1


def test_logs_of_a_whole_conversation_hold_no_id_name_or_text(bot, caplog, monkeypatch):
    from bot.cases.hours import DeskHours
    monkeypatch.setattr(DeskHours, "is_open", lambda self, moment: True)
    caplog.set_level(logging.DEBUG)
    agree(bot, name="Tran Van Secretname")
    for text in ("menu", "secret question about visa", "talk to a person", "my address is Ikebukuro 1-2-3"):
        bot.say(LINE_ID, text)
    logging.getLogger("bot.test").warning("worker saw %s", LINE_ID)     # even if code logged an id
    log = "\n".join(record.getMessage() for record in caplog.records)
    assert LINE_ID not in log and "Secretname" not in log
    assert "secret question" not in log and "Ikebukuro 1-2-3" not in log


def test_after_agreeing_the_user_is_asked_once_where_they_live(bot, services):
    bot.follow("Umuni", language="en", agree=False)
    bot.tap("Umuni", "privacy:agree")
    question = bot.last_messages("Umuni")[-1]
    labels = [item["action"]["label"] for item in question["quickReply"]["items"]]
    assert "豊島区 Toshima" in labels and len(labels) == 3
    bot.tap("Umuni", "muni:toshima-ku")
    with services.sessions() as session:
        assert session.scalar(select(User.municipality).where(User.line_user_id == "Umuni")) == "toshima-ku"
    assert bot.last_messages("Umuni")[-1]["quickReply"]["items"][0]["action"]["data"].startswith("f:main_menu")
