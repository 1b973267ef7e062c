"""The core pipeline end to end: signed webhook → Redis → worker → fake LINE, over real parts."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.store.models import Conversation, Message, ProcessedEvent, Question, User
from tests.conftest import PAYLOADS
from tests.support.line_events import body_of, event_id, signed_headers, text_event


def test_follow_greets_in_the_profile_language_and_stores_the_user(bot, services):
    texts = bot.follow("Uvi1", language="vi")
    assert texts, "the bot must greet a new friend"
    with services.sessions() as session:
        user = session.scalar(select(User).where(User.line_user_id == "Uvi1"))
    assert user.profile_language == "vi" and user.locale == "vi" and user.display_name == "Test parent"


def test_unsupported_profile_language_gets_english_marked_and_the_language_picker(bot):
    texts = bot.follow("Ude1", language="de", agree=False)
    assert "English" in texts[0]                       # marked as a fallback
    message = bot.last_messages("Ude1")[-1]
    labels = [item["action"]["label"] for item in message["quickReply"]["items"]]
    assert len(labels) <= 13 and "Tiếng Việt" in labels


def test_language_picker_second_page_has_the_rest(bot):
    bot.follow("Ude2", language="de")
    bot.tap("Ude2", "lang-page:2")
    labels = [item["action"]["label"] for item in bot.last_messages("Ude2")[-1]["quickReply"]["items"]]
    assert "বাংলা" in labels and "हिन्दी" in labels


def test_unfollow_marks_blocked_and_sends_nothing(bot, services, fake_line):
    bot.follow("Ublock", language="en")
    sent_before = len(fake_line.state.received)
    bot.send({"type": "unfollow", "mode": "active", "timestamp": 1, "webhookEventId": event_id(),
              "source": {"type": "user", "userId": "Ublock"}, "deliveryContext": {"isRedelivery": False}})
    assert len(fake_line.state.received) == sent_before
    with services.sessions() as session:
        assert session.scalar(select(User.blocked).where(User.line_user_id == "Ublock")) is True


def test_bad_signature_is_rejected_and_nothing_is_queued(bot, redis_client):
    body = body_of(text_event("Ux", "hello"))
    response = bot.client.post("/callback", data=body, headers={"X-Line-Signature": "AAAA", "Content-Type": "application/json"})
    assert response.status_code == 400
    missing = bot.client.post("/callback", data=body, headers={"Content-Type": "application/json"})
    assert missing.status_code == 400
    # Only what the webhook writes is checked: other tests' background threads (a live feed, a
    # worker's heartbeat) may touch the shared Redis at any time.
    queued = [key for key in redis_client.scan_iter("*")
              if key.startswith((b"bot:events:", b"bot:seen:", b"bot:pending-partitions", b"rq:queue:", b"rq:job:"))]
    assert queued == []


def test_oversized_body_is_413(bot):
    body = b'{"events":[],"pad":"' + b"x" * (1024 * 1024) + b'"}'
    response = bot.client.post("/callback", data=body, headers=signed_headers(body, bot.secret))
    assert response.status_code == 413


def test_malformed_json_is_400(bot):
    for body in (b"{not json", b"[]", b'{"events": "nope"}', "é".encode("latin-1")):
        response = bot.client.post("/callback", data=body, headers=signed_headers(body, bot.secret))
        assert response.status_code == 400, body


def test_verify_button_empty_events_is_200(bot):
    body = body_of()
    assert bot.client.post("/callback", data=body, headers=signed_headers(body, bot.secret)).status_code == 200


def test_callback_answers_carry_the_security_headers_and_open_no_session(bot):
    """/callback is answered in front of Flask (bot/web/webhook.py): the same headers as every
    other answer, errors as JSON, and no cookie session."""
    body = body_of(text_event("Uheaders", "hello"))
    ok = bot.client.post("/callback", data=body, headers=signed_headers(body, bot.secret))
    bad = bot.client.post("/callback", data=body, headers={"X-Line-Signature": "AAAA"})
    assert (ok.status_code, ok.get_data()) == (200, b"OK")
    assert (bad.status_code, bad.get_json()) == (400, {"error": "missing or bad X-Line-Signature"})
    for response in (ok, bad):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Strict-Transport-Security"].startswith("max-age=") and "Set-Cookie" not in headers
    assert bot.client.get("/callback").status_code == 405


def test_a_chunked_body_is_read_when_the_server_ends_the_stream(bot, redis_client):
    """gunicorn passes a chunked request without Content-Length and says the stream ends by itself."""
    import io
    body = body_of(text_event("Uchunked", "hello"))
    response = bot.client.post("/callback", input_stream=io.BytesIO(body), environ_overrides={"wsgi.input_terminated": True},
                               headers={**signed_headers(body, bot.secret), "Transfer-Encoding": "chunked"})
    assert response.status_code == 200
    assert redis_client.llen("bot:events:Uchunked") == 1


def test_same_event_three_times_gives_one_answer(bot, fake_line):
    event = text_event("Udup", "hello")
    for attempt in range(3):
        event = json.loads(json.dumps(event))
        event["deliveryContext"]["isRedelivery"] = attempt > 0
        assert bot.post(event).status_code == 200
    bot.work()
    bot.post(event)          # once more, after it was answered
    bot.work()
    assert len(fake_line.messages_to("Udup")) == 1


def test_sample_events_of_every_type_are_accepted_and_handled(bot, services):
    sample = json.loads((PAYLOADS / "all_event_types.json").read_text())
    for event in sample["events"]:
        event["webhookEventId"] = event_id()
    body = json.dumps(sample).encode()
    response = bot.client.post("/callback", data=body, headers=signed_headers(body, bot.secret))
    assert response.status_code == 200
    bot.work()
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == len(sample["events"])
    assert services.inbox.backlog() == 0


def test_line_500_twice_then_200_sends_one_message(bot, fake_line):
    event = text_event("Uretry", "hello")
    event["timestamp"] = 1            # reply token too old: push path with retry key
    fake_line.fail_next({"status": 500, "endpoint": "push"}, {"status": 500, "endpoint": "push"})
    bot.send(event)
    pushes = [c for c in fake_line.state.calls if c["endpoint"] == "push"]
    assert [c["status"] for c in pushes] == [500, 500, 200]
    assert len({c["retryKey"] for c in pushes}) == 1
    assert len(fake_line.messages_to("Uretry")) == 1


def test_old_reply_token_falls_back_to_push(bot, fake_line):
    event = text_event("Uold", "hello")
    event["timestamp"] -= 55_000
    bot.send(event)
    assert [r["endpoint"] for r in fake_line.messages_to("Uold")] == ["push"]


def test_fresh_reply_token_is_used(bot, fake_line):
    bot.send(text_event("Ufresh", "hello"))
    assert [r["endpoint"] for r in fake_line.messages_to("Ufresh")] == ["reply"]


def test_line_400_is_recorded_as_failed_with_lines_reason(bot, fake_line, services):
    event = text_event("Ubad", "hello")
    event["timestamp"] = 1
    fake_line.fail_next({"status": 400, "endpoint": "push", "message": "The user hasn't added the bot"})
    bot.send(event)
    with services.sessions() as session:
        row = session.scalar(select(Message).where(Message.direction == "out"))
    assert row.delivery_status == "failed" and "hasn't added" in row.delivery_error


def test_redis_down_answers_503(bot, redis_server):
    bot.services.redis.connection_pool.disconnect()
    redis_server.stop()
    try:
        body = body_of(text_event("Udown", "hello"))
        response = bot.client.post("/callback", data=body, headers=signed_headers(body, bot.secret))
        assert response.status_code == 503
        assert bot.client.get("/healthz").status_code == 503
    finally:
        redis_server.start()


def test_inbound_and_outbound_messages_are_stored(bot, services):
    bot.follow("Ustore", language="vi")
    bot.send(text_event("Ustore", "xin chào"))
    with services.sessions() as session:
        rows = session.scalars(select(Message).where(Message.event_id.is_not(None)).order_by(Message.id)).all()
    inbound = [r for r in rows if r.direction == "in" and r.kind == "text"]
    assert inbound[-1].text == "xin chào"
    assert rows[-1].direction == "out" and rows[-1].delivery_status == "sent"


def test_healthz_reports_each_part(bot):
    body = bot.client.get("/healthz").get_json()
    assert body["checks"] == {"web": True, "redis": True, "database": True}


APOLOGY = "Sorry, something went wrong on our side. Please try again. Your message is saved."


def _turn_rows(services, line_user_id: str) -> dict:
    with services.sessions() as session:
        user = session.scalar(select(User).where(User.line_user_id == line_user_id))
        conversation = session.get(Conversation, user.id)
        return {"locale": user.locale, "consent": user.consent, "municipality": user.municipality,
                "conversation": conversation and (conversation.flow_id, conversation.step_id, conversation.misses,
                                                  conversation.variables),
                "questions": session.scalar(select(func.count()).select_from(Question).where(Question.user_id == user.id)),
                "messages": session.execute(select(Message.direction, Message.text).where(Message.user_id == user.id)
                                            .order_by(Message.id)).all(),
                "events": session.scalar(select(func.count()).select_from(ProcessedEvent)
                                         .where(ProcessedEvent.partition == line_user_id))}


def test_a_handler_bug_after_writes_rolls_them_back_and_the_message_is_kept_with_an_apology(bot, services, monkeypatch):
    """The question row and the conversation the handler wrote before failing are undone; her
    message, the apology and the event are recorded; she is answered once."""
    from bot.store.conversations import SqlConversationStore
    bot.follow("Ubug1", language="en")
    bot.say("Ubug1", "where is the city office")
    before = _turn_rows(services, "Ubug1")
    save = SqlConversationStore.save

    def save_then_fail(self, *args, **kwargs):
        save(self, *args, **kwargs)
        raise RuntimeError("a bug after the writes")
    monkeypatch.setattr(SqlConversationStore, "save", save_then_fail)

    assert bot.say("Ubug1", "hoikuen waiting list") == [APOLOGY]
    after = _turn_rows(services, "Ubug1")
    assert after["questions"] == before["questions"] >= 1          # the question row was written, then undone
    assert after["conversation"] == before["conversation"] and after["locale"] == before["locale"] == "en"
    assert after["messages"][:-2] == before["messages"]
    assert after["messages"][-2:] == [("in", "hoikuen waiting list"), ("out", APOLOGY)]
    assert after["events"] == before["events"] + 1
    monkeypatch.undo()
    assert bot.say("Ubug1", "hoikuen waiting list") != [APOLOGY]     # the next turn goes on as usual


def test_a_handler_bug_on_a_new_users_first_message_still_records_her_and_apologises(bot, services, monkeypatch):
    """The rollback takes her new `users` row too: it is written again, as it was, with her message."""
    from bot.dialogue.conversation import Conversation

    def fail(self, ctx, text):
        ctx.known_user.municipality = "other"           # a change the bug must not keep
        raise RuntimeError("a bug")
    monkeypatch.setattr(Conversation, "on_text", fail)
    assert bot.say("Ubug2", "hello") == [APOLOGY]
    after = _turn_rows(services, "Ubug2")
    assert after["municipality"] is None and after["consent"] is None and after["conversation"] is None
    assert after["messages"] == [("in", None), ("out", APOLOGY)]      # no consent: her text is not kept
    assert after["events"] == 1
