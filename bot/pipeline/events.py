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


MAX_EVENT_DEPTH = 32          # a LINE event nests 5 levels; deeper is not an event


class _TooDeep(Exception):
    pass


def clean_event(value, depth: int = MAX_EVENT_DEPTH):
    """A copy safe to store: lone surrogates become U+FFFD, U+0000 is removed; None if too deep.

    One user's odd character must not cost another user's event in the same body: Redis and
    PostgreSQL refuse text that is not valid UTF-8 or holds NUL.
    """
    try:
        return _clean_value(value, depth)
    except _TooDeep:
        return None


def _clean_value(value, depth: int):
    if isinstance(value, str):
        return _clean_text(value)
    if depth <= 0 and isinstance(value, (dict, list)):
        raise _TooDeep
    if isinstance(value, dict):
        return {_clean_text(k): _clean_value(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_value(v, depth - 1) for v in value]
    return value


def _clean_text(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16: a split pair is joined again, a lone surrogate becomes U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
