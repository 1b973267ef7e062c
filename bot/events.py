"""Facts about a LINE webhook event that both the webhook and the worker need."""
from __future__ import annotations

import hashlib
import json


def event_id_of(event: dict) -> str:
    """webhookEventId, or a stable digest for the rare event without one (old fixtures)."""
    event_id = event.get("webhookEventId")
    if isinstance(event_id, str) and event_id:
        return event_id[:64]
    return "sha-" + hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()[:40]


def source_of(event: dict) -> dict:
    source = event.get("source")
    return source if isinstance(source, dict) else {}


def partition_of(event: dict) -> str:
    """Events of one chat (user, group or room) are handled in order, one at a time."""
    source = source_of(event)
    for key in ("userId", "groupId", "roomId"):
        value = source.get(key)
        if isinstance(value, str) and value:
            return value[:64]
    return "no-source"


def line_user_of(event: dict) -> str | None:
    """The LINE user of a one-to-one chat; None for groups, rooms and malformed sources."""
    source = source_of(event)
    user_id = source.get("userId")
    if source.get("type") == "user" and isinstance(user_id, str) and user_id:
        return user_id[:64]
    return None
