"""The fake LINE server refuses what real LINE refuses (issue 13, item 14).

Each request below is one LINE's Messaging API answers with 400 (or 401): the spec's request
schemas (vendored OpenAPI, resolved by bot/devtools/line_rules.py) or the limits on LINE's
reference pages. They go through the real line-bot-sdk where the SDK lets them out; where the
SDK already refuses the body itself (its own pydantic checks), the same JSON is sent raw, so the
fake is tested either way. A valid request of each kind is accepted, so the refusals are not
the fake refusing everything.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)

from bot.adapters.line import LineMessenger
from bot.devtools.line_rules import load_spec, spec_json_schema

USER = "U" + "0" * 32
TOKEN = "test-access-token"


def text(value="Hello", **extra) -> dict:
    return {"type": "text", "text": value, **extra}


def postback(label="Yes", data="yes", **extra) -> dict:
    return {"type": "postback", "label": label, "data": data, **extra}


def quick_reply(*items) -> dict:
    return {"quickReply": {"items": list(items)}}


def item(action: dict | None) -> dict:
    return {"type": "action", **({"action": action} if action is not None else {})}


def buttons(actions: list[dict], **extra) -> dict:
    return {"type": "template", "altText": "Choose", "template": {"type": "buttons", "text": "Choose one",
                                                                  "actions": actions, **extra}}


def bubble(filler: str = "Hi") -> dict:
    return {"type": "bubble", "body": {"type": "box", "layout": "vertical",
                                       "contents": [{"type": "text", "text": filler, "wrap": True}]}}


def flex(contents: dict, alt="Card") -> dict:
    return {"type": "flex", "altText": alt, "contents": contents}


def reply_body(*messages, **extra) -> dict:
    return {"replyToken": "TOKEN", "messages": list(messages), **extra}


# (id, endpoint, body, extra headers, status, expected property or message fragment)
REFUSED = [
    ("retry key on a reply", "reply", reply_body(text()), {"X-Line-Retry-Key": str(uuid.uuid4())}, 400, "retry key"),
    ("unknown reply token", "reply", {"replyToken": "never-issued", "messages": [text()]}, {}, 400, "Invalid reply token"),
    ("no reply token", "reply", {"messages": [text()]}, {}, 400, "replyToken"),
    ("no messages", "reply", reply_body(), {}, 400, "messages"),
    ("six messages", "reply", reply_body(*[text()] * 6), {}, 400, "messages"),
    ("messages not a list", "reply", {"replyToken": "TOKEN", "messages": text()}, {}, 400, "messages"),
    ("numeric text", "reply", reply_body(text(5)), {}, 400, "messages[0].text"),
    ("empty text", "reply", reply_body(text("")), {}, 400, "messages[0].text"),
    ("text of 5,001 characters", "reply", reply_body(text("a" * 5001)), {}, 400, "messages[0].text"),
    ("text of 2,501 emoji (5,002 UTF-16 units)", "reply", reply_body(text("😀" * 2501)), {}, 400, "messages[0].text"),
    ("unknown message type", "reply", reply_body({"type": "carrier-pigeon", "text": "hi"}), {}, 400, "messages[0].type"),
    ("message without a type", "reply", reply_body({"text": "hi"}), {}, 400, "messages[0].type"),
    ("quick reply of 14 items", "reply", reply_body(text(**quick_reply(*[item(postback())] * 14))), {}, 400,
     "messages[0].quickReply.items"),
    ("quick reply item without an action", "reply", reply_body(text(**quick_reply(item(None)))), {}, 400,
     "messages[0].quickReply.items[0].action"),
    ("quick reply label of 21 characters", "reply", reply_body(text(**quick_reply(item(postback(label="x" * 21))))), {},
     400, "messages[0].quickReply.items[0].action.label"),
    ("quick reply action without a label", "reply", reply_body(text(**quick_reply(item({"type": "message", "text": "a"})))),
     {}, 400, "messages[0].quickReply.items[0].action.label"),
    ("postback data of 301 characters", "reply", reply_body(text(**quick_reply(item(postback(data="d" * 301))))), {}, 400,
     "messages[0].quickReply.items[0].action.data"),
    ("postback without data", "reply", reply_body(text(**quick_reply(item({"type": "postback", "label": "a"})))), {}, 400,
     "messages[0].quickReply.items[0].action.data"),
    ("unknown action type", "reply", reply_body(text(**quick_reply(item({"type": "teleport", "label": "a"})))), {}, 400,
     "messages[0].quickReply.items[0].action.type"),
    ("sender icon over http", "reply", reply_body(text(sender={"name": "田中", "iconUrl": "http://example.com/i.png"})),
     {}, 400, "messages[0].sender.iconUrl"),
    ("image over http", "reply",
     reply_body({"type": "image", "originalContentUrl": "http://example.com/a.jpg",
                 "previewImageUrl": "https://example.com/p.jpg"}), {}, 400, "messages[0].originalContentUrl"),
    ("sender name of 21 characters", "reply", reply_body(text(sender={"name": "n" * 21})), {}, 400, "messages[0].sender.name"),
    ("buttons template with 5 actions", "reply", reply_body(buttons([postback()] * 5)), {}, 400, "messages[0].template.actions"),
    ("confirm template with 3 actions", "reply",
     reply_body({"type": "template", "altText": "Sure?", "template": {"type": "confirm", "text": "Sure?",
                                                                      "actions": [postback()] * 3}}), {}, 400,
     "messages[0].template.actions"),
    ("template without altText", "reply",
     reply_body({"type": "template", "template": buttons([postback()])["template"]}), {}, 400, "altText"),
    ("template altText of 401 characters", "reply", reply_body({**buttons([postback()]), "altText": "a" * 401}), {}, 400,
     "messages[0].altText"),
    ("carousel of 13 bubbles", "reply", reply_body(flex({"type": "carousel", "contents": [bubble()] * 13})), {}, 400,
     "messages[0].contents.contents"),
    ("Flex bubble over 30 KB", "reply", reply_body(flex(bubble("x" * 31_000))), {}, 400, "messages[0].contents"),
    ("Flex box with an unknown layout", "reply",
     reply_body(flex({"type": "bubble", "body": {"type": "box", "layout": "diagonal", "contents": []}})), {}, 400,
     "messages[0].contents.body.layout"),
    ("Flex message without altText", "reply", reply_body({"type": "flex", "contents": bubble()}), {}, 400, "altText"),
    ("image with a URL that is not one", "reply",
     reply_body({"type": "image", "originalContentUrl": "not a url", "previewImageUrl": "https://example.com/p.png"}), {},
     400, "messages[0].originalContentUrl"),
    ("no Authorization header", "reply", reply_body(text()), {"Authorization": None}, 401, "Authentication failed"),
    ("empty access token", "reply", reply_body(text()), {"Authorization": ""}, 401, "Authentication failed"),
    ("push without a recipient", "push", {"messages": [text()]}, {}, 400, "to"),
    ("push with a retry key that is not a UUID", "push", {"to": USER, "messages": [text()]},
     {"X-Line-Retry-Key": "retry-1"}, 400, "X-Line-Retry-Key"),
    ("push without Authorization", "push", {"to": USER, "messages": [text()]}, {"Authorization": None}, 401,
     "Authentication failed"),
    ("loadingSeconds 7", "loading", {"chatId": USER, "loadingSeconds": 7}, {}, 400, "loadingSeconds"),
    ("loadingSeconds 65", "loading", {"chatId": USER, "loadingSeconds": 65}, {}, 400, "loadingSeconds"),
    ("loading without a chat", "loading", {"loadingSeconds": 5}, {}, 400, "chatId"),
    ("loading without Authorization", "loading", {"chatId": USER, "loadingSeconds": 5}, {"Authorization": None}, 401,
     "Authentication failed"),
    ("mark as read without a token", "markAsRead", {}, {}, 400, "markAsReadToken"),
]

PATHS = {"reply": "/v2/bot/message/reply", "push": "/v2/bot/message/push",
         "loading": "/v2/bot/chat/loading/start", "markAsRead": "/v2/bot/chat/markAsRead"}
SDK_CALLS = {
    "reply": (ReplyMessageRequest, "reply_message_with_http_info"),
    "push": (PushMessageRequest, "push_message_with_http_info"),
    "loading": (ShowLoadingAnimationRequest, "show_loading_animation_with_http_info"),
    "markAsRead": (MarkMessagesAsReadByTokenRequest, "mark_messages_as_read_by_token_with_http_info"),
}


def send_raw(url: str, endpoint: str, body, headers: dict) -> tuple[int, dict]:
    all_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}", **headers}
    request = urllib.request.Request(url + PATHS[endpoint], data=json.dumps(body).encode(), method="POST",
                                     headers={k: v for k, v in all_headers.items() if v is not None})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def send_with_sdk(url: str, endpoint: str, body, headers: dict) -> tuple[int, dict] | None:
    """Through the real SDK; None when the SDK itself refuses to build the request."""
    model, method = SDK_CALLS[endpoint]
    try:
        request = model.from_dict(body)
    except (ValueError, TypeError, KeyError):      # pydantic's ValidationError is a ValueError; KeyError: no "type"
        return None
    if "Authorization" in headers:
        if headers["Authorization"] is None:
            return None                      # the SDK always sends one: no header at all goes raw
        configuration = Configuration(host=url, access_token=headers["Authorization"])
    else:
        configuration = Configuration(host=url, access_token=TOKEN)
    configuration.retries = False
    api = MessagingApi(ApiClient(configuration))
    kwargs = {"x_line_retry_key": headers["X-Line-Retry-Key"]} if endpoint == "push" and "X-Line-Retry-Key" in headers else {}
    call = getattr(api, method)
    try:
        if endpoint == "reply" and "X-Line-Retry-Key" in headers:
            # The SDK has no retry key parameter for replies; add the header as a caller could.
            call(request, _headers={"X-Line-Retry-Key": headers["X-Line-Retry-Key"]})
        else:
            call(request, **kwargs)
    except ApiException as error:
        return error.status, json.loads(error.body or "{}")
    return 200, {}


@pytest.mark.parametrize("name,endpoint,body,headers,status,where", REFUSED, ids=[case[0] for case in REFUSED])
def test_fake_line_refuses_what_line_refuses(fake_line, name, endpoint, body, headers, status, where):
    fake_line.register_reply_token("TOKEN", USER)
    answer = send_with_sdk(fake_line.url, endpoint, body, headers)
    via = "sdk"
    if answer is None:
        answer, via = send_raw(fake_line.url, endpoint, body, headers), "raw"
    got_status, error = answer
    assert got_status == status, (via, error)
    assert isinstance(error.get("message"), str)
    found = error["message"] + " " + " ".join(f"{d['property']} {d['message']}" for d in error.get("details", []))
    assert where in found, (via, error)
    for detail in error.get("details", []):
        assert set(detail) == {"message", "property"}
    assert fake_line.state.received == []                 # nothing was "delivered"


def test_a_used_reply_token_is_refused_the_second_time(fake_line):
    fake_line.register_reply_token("ONCE", USER)
    assert send_with_sdk(fake_line.url, "reply", {"replyToken": "ONCE", "messages": [text()]}, {})[0] == 200
    status, error = send_with_sdk(fake_line.url, "reply", {"replyToken": "ONCE", "messages": [text()]}, {})
    assert status == 400 and error["message"] == "Invalid reply token"


VALID = [
    ("reply", reply_body(text("😀" * 2500, **quick_reply(*[item(postback(label="x" * 20, data="d" * 300))] * 13)),
                         buttons([postback()] * 4), flex({"type": "carousel", "contents": [bubble()] * 12}),
                         text(sender={"name": "田中", "iconUrl": "https://example.com/i.png"}),
                         {"type": "image", "originalContentUrl": "https://example.com/a.jpg",
                          "previewImageUrl": "https://example.com/p.jpg"})),
    ("push", {"to": USER, "messages": [text("a" * 5000)]}),
    ("loading", {"chatId": USER, "loadingSeconds": 60}),
    ("markAsRead", {"markAsReadToken": "token"}),
]


@pytest.mark.parametrize("endpoint,body", VALID, ids=[case[0] for case in VALID])
def test_fake_line_accepts_requests_at_the_limits(fake_line, endpoint, body):
    fake_line.register_reply_token("TOKEN", USER)
    headers = {"X-Line-Retry-Key": str(uuid.uuid4())} if endpoint == "push" else {}
    assert send_with_sdk(fake_line.url, endpoint, body, headers) == (200, {})


def test_the_messenger_keeps_loading_seconds_to_what_line_accepts(fake_line):
    LineMessenger(fake_line.url, TOKEN).show_loading(USER, 7)
    assert [(c["status"], c["body"]["loadingSeconds"]) for c in fake_line.state.calls] == [(202, 10)]


def test_the_spec_becomes_one_json_schema_without_endless_references():
    document = spec_json_schema(load_spec())
    message = document["$defs"]["Message"]
    text_message = document["$defs"]["TextMessage"]
    assert {"$ref": "#/$defs/Message__base"} in text_message["allOf"]         # the subtype points at the base only
    assert message["x-discriminator"]["mapping"]["text"] == "#/$defs/TextMessage"


def test_a_body_that_is_not_json_is_a_400_not_a_500(fake_line):
    request = urllib.request.Request(fake_line.url + PATHS["reply"], data=b"{not json", method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400 and json.loads(refused.value.read())["details"]


def test_profile_needs_an_access_token(fake_line):
    fake_line.set_profile(USER, "Lan", "vi")
    assert LineMessenger(fake_line.url, TOKEN).get_profile(USER).display_name == "Lan"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(fake_line.url + f"/v2/bot/profile/{USER}", timeout=10)
    assert refused.value.code == 401


def test_an_advisor_icon_line_would_refuse_is_a_configuration_error():
    from bot.settings import SettingsError, load_settings
    env = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"}
    assert load_settings({**env, "ADVISOR_ICON_URL": "https://npo.example/icon.png"}).advisor_icon_url
    with pytest.raises(SettingsError, match="ADVISOR_ICON_URL"):
        load_settings({**env, "ADVISOR_ICON_URL": "http://npo.example/icon.png"})
