"""The 17 supported locales, their names, and matching a BCP 47 tag (LINE profile) to one."""
from __future__ import annotations

from bot import LOCALES

# Each language named in itself, as a parent looks for it in a list.
NATIVE_NAMES = {
    "ja": "日本語", "ja-easy": "やさしい にほんご", "en": "English", "zh-Hans": "简体中文",
    "zh-Hant": "繁體中文", "ko": "한국어", "vi": "Tiếng Việt", "tl": "Tagalog", "ne": "नेपाली",
    "id": "Bahasa Indonesia", "pt-BR": "Português", "es": "Español", "my": "မြန်မာ",
    "si": "සිංහල", "th": "ไทย", "hi": "हिन्दी", "bn": "বাংলা",
}

_ALIASES = {
    "zh": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-hans": "zh-Hans",
    "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant", "zh-hant": "zh-Hant",
    "pt": "pt-BR", "fil": "tl", "in": "id", "ja-hira": "ja-easy", "ja-easy": "ja-easy",
}


def match_locale(tag: str | None) -> str | None:
    """'vi-VN' → 'vi', 'zh-TW' → 'zh-Hant', 'pt-PT' → 'pt-BR'; None when not one of the 17."""
    if not tag:
        return None
    lowered = tag.replace("_", "-").strip().lower()
    for locale in LOCALES:
        if lowered == locale.lower():
            return locale
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    if lowered.startswith("zh-") and ("hant" in lowered or lowered.endswith(("-tw", "-hk", "-mo"))):
        return "zh-Hant"
    primary = lowered.split("-", 1)[0]
    if primary in _ALIASES:
        return _ALIASES[primary]
    return next((locale for locale in LOCALES if locale.lower() == primary), None)
