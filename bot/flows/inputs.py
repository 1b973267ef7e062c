"""Reading what a parent typed as a date, a number or yes/no, in any of the 17 languages."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

_ISO = re.compile(r"(\d{4})\s*[-/.年년]\s*(\d{1,2})\s*[-/.月월]\s*(\d{1,2})")
_DMY = re.compile(r"\b(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})\b")
_MD_CJK = re.compile(r"(\d{1,2})\s*[月월]\s*(\d{1,2})")
_NUMBER = re.compile(r"-?\d[\d,.\s]*")

# Thai and Myanmar, Devanagari and Bengali digits become ASCII through this table (NFKC does not).
_DIGITS = {}
for zero in (0x0E50, 0x1040, 0x0966, 0x09E6, 0x0DE6):
    for offset in range(10):
        _DIGITS[zero + offset] = str(offset)


# Sentence ends a parent may type after a one-word answer, in every script we serve
# (Latin, CJK, Devanagari and Bengali danda, Burmese section marks).
SENTENCE_END = " .!?。！？।॥။၊"


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_DIGITS).strip()


def parse_date(text: str, today: date) -> date | None:
    """2026-11-20, 2026/11/20, 2026年11月20日, 20/11/2026, 11月20日 (this year), today/yesterday words aside."""
    value = normalise(text)
    for pattern, order in ((_ISO, "ymd"), (_DMY, "dmy")):
        match = pattern.search(value)
        if match:
            parts = dict(zip(order, map(int, match.groups())))
            if order == "dmy" and parts["m"] > 12 >= parts["d"]:
                parts["d"], parts["m"] = parts["m"], parts["d"]      # 11/20/2026 written US-style
            return _safe_date(parts["y"], parts["m"], parts["d"])
    match = _MD_CJK.search(value)
    if match:
        month, day = map(int, match.groups())
        candidate = _safe_date(today.year, month, day)
        if candidate and candidate > today + timedelta(days=31):
            candidate = _safe_date(today.year - 1, month, day)     # "12月28日" said in January
        return candidate
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_number(text: str) -> float | None:
    match = _NUMBER.search(normalise(text))
    if not match:
        return None
    raw = re.sub(r"[\s,]", "", match.group())
    try:
        value = float(raw)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def parse_yes_no(text: str, yes_words: list[str], no_words: list[str]) -> bool | None:
    value = normalise(text).casefold().strip(SENTENCE_END)
    if any(value == w.casefold() or value.startswith(w.casefold() + " ") for w in no_words):
        return False
    if any(value == w.casefold() or value.startswith(w.casefold() + " ") for w in yes_words):
        return True
    return None
