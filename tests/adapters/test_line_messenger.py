"""LineMessenger's sends (bot/adapters/line.py) over the SDK's connection pool, against the fake
LINE server: LINE's refusals classified as before, a TLS failure retried rather than recorded as
LINE's verdict, and the SDK's whole path kept for a client configured with a proxy."""
from __future__ import annotations

from bot.adapters.line import LineMessenger

USER = "U" + "2" * 32
TEXT = [{"type": "text", "text": "Xin chào"}]


def test_lines_answers_are_classified_as_the_sdk_would_raise_them(fake_line):
    fake_line.register_reply_token("GOOD", USER)
    messenger = LineMessenger(fake_line.url, "token")
    fake_line.fail_next({"endpoint": "push", "status": 429})
    results = [messenger.reply("GOOD", TEXT), messenger.reply("GOOD", TEXT),          # the token is used now
               messenger.push(USER, TEXT, "5b0c1a2e-0000-4000-8000-00000000000a"),
               messenger.push(USER, [{"type": "text", "text": ""}], "5b0c1a2e-0000-4000-8000-00000000000b")]
    assert [(r.status, r.http_status) for r in results] == [
        ("sent", 200), ("invalid_token", 400), ("retryable", 429), ("failed", 400)]
    assert "reply token" in (results[1].error or "").lower()


def test_a_tls_failure_is_retried_not_recorded_as_lines_refusal(fake_line):
    # https:// to a server that speaks plain HTTP: the TLS handshake fails before LINE could answer.
    messenger = LineMessenger(fake_line.url.replace("http://", "https://"), "token", timeout_s=5)
    result = messenger.push(USER, TEXT, "5b0c1a2e-0000-4000-8000-00000000000c")
    assert result.status == "retryable" and result.http_status is None
    assert fake_line.state.received == []


def test_with_a_proxy_configured_sends_take_the_sdks_whole_path(fake_line):
    fake_line.register_reply_token("VIA-SDK", USER)
    messenger = LineMessenger(fake_line.url, "token")
    messenger._client.configuration.proxy = "http://proxy.invalid:3128"    # the pool was built without it
    assert messenger._sends is None
    sent, refused = messenger.reply("VIA-SDK", TEXT), messenger.reply("VIA-SDK", TEXT)
    assert (sent.status, sent.http_status) == ("sent", 200)
    assert (refused.status, refused.http_status) == ("invalid_token", 400)
    assert [m["endpoint"] for m in fake_line.state.received] == ["reply"]
