"""LINE message objects (plain dicts in the Messaging API's JSON shape) and the platform's limits."""
from __future__ import annotations

MAX_MESSAGES_PER_CALL = 5
MAX_TEXT_UTF16 = 5000
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL_CHARS = 20
MAX_POSTBACK_DATA = 300


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_label(label: str) -> str:
    """Quick-reply and button labels may hold 20 characters; flows check rejects longer ones, this is a guard."""
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def postback_action(label: str, data: str, display_text: str | None = None) -> dict:
    if len(data) > MAX_POSTBACK_DATA:
        raise ValueError(f"postback data is {len(data)} characters; LINE allows {MAX_POSTBACK_DATA}")
    return {"type": "postback", "label": fit_label(label), "data": data, "displayText": display_text or label}


def tel_uri(number: str) -> str:
    """A tel: URI for a LINE call button. '#' starts a fragment in a URI, so "#7119" is sent as
    "tel:%237119" (RFC 3966); dashes and spaces are only visual and are dropped."""
    return "tel:" + number.replace("#", "%23").replace("-", "").replace(" ", "")


def uri_action(label: str, uri: str) -> dict:
    return {"type": "uri", "label": fit_label(label), "uri": uri}


def text_message(text: str, quick_replies: list[dict] | None = None, sender: dict | None = None) -> dict:
    message: dict = {"type": "text", "text": text}
    if quick_replies:
        items = [{"type": "action", "action": a} for a in quick_replies[:MAX_QUICK_REPLY_ITEMS]]
        message["quickReply"] = {"items": items}
    if sender:
        message["sender"] = sender
    return message


def with_quick_replies_first(message: dict, actions: list[dict]) -> dict:
    """The message with `actions` before its own quick replies (LINE shows at most 13)."""
    own = [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]
    merged = (actions + own)[:MAX_QUICK_REPLY_ITEMS]
    if not merged:
        return message
    return {**message, "quickReply": {"items": [{"type": "action", "action": a} for a in merged]}}


def split_text(text: str, limit: int = MAX_TEXT_UTF16) -> list[str]:
    """Split a long text into pieces LINE accepts, preferring paragraph and line breaks."""
    if utf16_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while utf16_len(line) > limit:
            head, line = _cut_utf16(line, limit)
            pieces.extend([p for p in (current, head) if p])
            current = ""
        if utf16_len(current + line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p.strip("\n") or p for p in pieces]


def _cut_utf16(text: str, limit: int) -> tuple[str, str]:
    count = 0
    for index, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > limit:
            return text[:index], text[index:]
    return text, ""


def fit_messages(messages: list[dict]) -> list[dict]:
    """Split over-long texts; a quick reply stays on the last piece, where the user sees it."""
    fitted: list[dict] = []
    for message in messages:
        if message.get("type") != "text" or utf16_len(message["text"]) <= MAX_TEXT_UTF16:
            fitted.append(message)
            continue
        pieces = split_text(message["text"])
        for index, piece in enumerate(pieces):
            part = {k: v for k, v in message.items() if k != "quickReply" or index == len(pieces) - 1}
            part["text"] = piece
            fitted.append(part)
    return fitted


def batches(messages: list[dict]) -> list[list[dict]]:
    """LINE takes 1-5 messages per reply or push call."""
    return [messages[i:i + MAX_MESSAGES_PER_CALL] for i in range(0, len(messages), MAX_MESSAGES_PER_CALL)]


def message_summary(message: dict) -> str:
    """The text a person reads in the inbox for an outbound message object."""
    if message.get("type") == "text":
        return message["text"]
    return message.get("altText") or f"[{message.get('type', 'message')}]"
