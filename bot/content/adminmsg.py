"""Messages for admins (`flows check`, `resources check`, rejected content edits), in Japanese or English.

The texts live in bot/content/admin_messages.yaml, one key per message with an `en` and a `ja` text, so a
new message is one entry there rather than an if/else in the code. The language is
BOT_ADMIN_LANGUAGE (ja or en) or else the system locale (LC_ALL, LC_MESSAGES, LANG starting with
"ja"), read at each call so a long-running process follows its environment.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import yaml

MESSAGES_FILE = Path(__file__).with_name("admin_messages.yaml")
ADMIN_LANGUAGES = ("en", "ja")


def admin_language(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    chosen = (env.get("BOT_ADMIN_LANGUAGE") or "").strip().lower()
    if chosen in ADMIN_LANGUAGES:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):       # the POSIX order of precedence
        value = (env.get(name) or "").strip()
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


@lru_cache(maxsize=1)
def _catalog() -> dict[str, dict[str, str]]:
    with MESSAGES_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def msg(message_key: str, /, **values) -> str:
    """The message `message_key` in the admin's language, with its {placeholders} filled in."""
    texts = _catalog()[message_key]
    return texts.get(admin_language(), texts["en"]).format(**values)


def did_you_mean(word: object, candidates: Iterable[object]) -> str:
    """"; did you mean 'topics'?" for the closest known id, or '' when nothing is close."""
    names = [str(c) for c in candidates]
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    return msg("did_you_mean", guess=close[0]) if close else ""


def closest(word: object, candidates: Iterable[object]) -> str | None:
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return close[0] if close else None
