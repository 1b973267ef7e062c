"""Building LINE webhook bodies the way LINE sends them, signed with the channel secret."""
from __future__ import annotations

import itertools
import json
import time
import uuid

from bot.web.signature import sign

_counter = itertools.count(1)


def event_id() -> str:
    return "01" + uuid.uuid4().hex[:24].upper()


def base_event(kind: str, user_id: str, **extra) -> dict:
    event = {
        "type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id}, "webhookEventId": event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if kind not in {"unfollow", "leave"}:
        event["replyToken"] = uuid.uuid4().hex
    event.update(extra)
    return event


def text_event(user_id: str, text: str, **extra) -> dict:
    message = {"id": str(next(_counter)), "type": "text", "text": text, "quoteToken": uuid.uuid4().hex,
               "markAsReadToken": uuid.uuid4().hex}
    return base_event("message", user_id, message=message, **extra)


def postback_event(user_id: str, data: str) -> dict:
    return base_event("postback", user_id, postback={"data": data})


def follow_event(user_id: str) -> dict:
    return base_event("follow", user_id, follow={"isUnblocked": False})


def body_of(*events: dict, destination: str = "Ubot") -> bytes:
    return json.dumps({"destination": destination, "events": list(events)}, ensure_ascii=False).encode()


def signed_headers(body: bytes, secret: str) -> dict:
    return {"Content-Type": "application/json", "X-Line-Signature": sign(body, secret)}
