"""Reusable pieces of the chat UI: the language picker and small quick-reply helpers."""
from __future__ import annotations

from bot import LOCALES
from bot.content.languages import NATIVE_NAMES
from bot.dialogue.messages import postback_action, text_message

PICKER_PAGE_SIZE = 12        # 12 languages + one "more" button = 13 quick-reply items, LINE's maximum
PICKER_ORDER = (             # by number of residents in Japan, so most parents find theirs on page 1
    "zh-Hans", "vi", "ko", "tl", "ne", "id", "pt-BR", "my", "en", "ja-easy", "ja", "zh-Hant",
    "si", "th", "es", "hi", "bn",
)
assert sorted(PICKER_ORDER) == sorted(LOCALES)


def language_picker(prompt: str, page: int = 1, more_label: str = "▶ More / その他") -> dict:
    start = (page - 1) * PICKER_PAGE_SIZE
    shown = PICKER_ORDER[start:start + PICKER_PAGE_SIZE]
    items = [postback_action(NATIVE_NAMES[code], f"lang:{code}") for code in shown]
    if start + PICKER_PAGE_SIZE < len(PICKER_ORDER):
        items.append(postback_action(more_label, f"lang-page:{page + 1}", display_text=more_label))
    elif page > 1:
        items.append(postback_action("◀ 1", "lang-page:1", display_text="◀"))
    return text_message(prompt, quick_replies=items)


def parse_postback(data: str) -> tuple[str, str]:
    """'lang:vi' → ('lang', 'vi'); 'menu' → ('menu', '')."""
    kind, _, value = (data or "").partition(":")
    return kind, value
