"""Japanese beside what the parent saw: the bot's messages and the buttons the parent tapped.

The bot sends texts from the locale catalog and the resource index. Its stored messages keep the
rendered text only, so the inbox finds the catalog key back: every catalog text of the parent's
language is matched as a pattern (its {{ variables }} as wildcards) and the same key is shown in
Japanese with the values found. A tap's postback code is read the same way the bot reads it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.content.localformat import date_regex, format_date
from bot.dialogue.ui import parse_postback
from bot.inbox.labels import language_label

if TYPE_CHECKING:
    from bot.content.registry import Content

VARIABLE = re.compile(r"{{\s*([A-Za-z_]\w*)\s*(?:\|\s*([A-Za-z_]\w*))?[^}]*}}")
COMMAND_KEYS = {"menu": "menu.main", "person": "menu.person", "language": "menu.language",
                "continue": "core.continue", "restart": "core.start_over", "delete": "privacy.delete_yes"}
PRIVACY_KEYS = {"agree": "privacy.agree", "more": "privacy.read_more", "decline": "privacy.no_thanks",
                "delete": "privacy.delete_yes"}
ENTRY_MARK = "■ "


@dataclass(frozen=True)
class _Pattern:
    key: str
    regex: re.Pattern
    names: tuple[str, ...]
    filters: tuple[str | None, ...]


class Gloss:
    """Japanese for one content set; patterns are compiled per locale on first use."""

    def __init__(self, content: Content):
        self._content = content
        self._catalog = content.catalog
        self._exact: dict[str, dict[str, str]] = {}
        self._patterns: dict[str, list[_Pattern]] = {}
        self._titles: dict[str, dict[str, str]] = {}

    # ---- bot messages -------------------------------------------------------------------------
    def bot_text(self, text: str | None, locale: str) -> str | None:
        """The Japanese of a bot message, or None when it is Japanese already or not from the catalog."""
        if not text or locale == "ja":
            return None
        if text.startswith(ENTRY_MARK):
            entry_id = self._entry_by_title(text.splitlines()[0][len(ENTRY_MARK):].strip(), locale)
            if entry_id:
                title = self._content.index.text(entry_id, "ja")
                return f"資料: {title.title}" if title else None
        whole = self._catalog_text(text.strip(), locale)
        if whole or "\n\n" not in text:
            return whole
        # Some answers join several catalog texts (an emergency answer and how to call 119):
        # gloss each paragraph, and mark the ones that are not from the catalog.
        parts = [self._catalog_text(part.strip(), locale) for part in text.split("\n\n") if part.strip()]
        return "\n\n".join(part or "(…)" for part in parts) if any(parts) else None

    def _catalog_text(self, text: str, locale: str) -> str | None:
        key = self._exact_keys(locale).get(text)
        if key:
            return self._catalog.text("ja", key)
        for pattern in self._patterns_of(locale):
            found = pattern.regex.fullmatch(text)
            if found:
                values: dict[str, str | date] = {}
                for name, kind, value in zip(pattern.names, pattern.filters, found.groups()):
                    values[name] = (read_date(value, locale) or value) if kind == "date" else value
                return self._with_values(pattern.key, values)
        return None

    def _with_values(self, key: str, values: dict[str, str | date]) -> str:
        """The Japanese text of `key` with the values found; a date read back is written as in Japanese."""
        source = self._catalog.texts.get("ja", {}).get(key, "")

        def value_of(match: re.Match) -> str:
            value = values.get(match.group(1), "…")
            return format_date(value, "ja") if isinstance(value, date) else value
        return VARIABLE.sub(value_of, source).strip()

    def _exact_keys(self, locale: str) -> dict[str, str]:
        if locale not in self._exact:
            table: dict[str, str] = {}
            for key, source in self._catalog.texts.get(locale, {}).items():
                if isinstance(source, str) and "{{" not in source and "{%" not in source and source.strip():
                    table.setdefault(source.strip(), key)
            self._exact[locale] = table
        return self._exact[locale]

    def _patterns_of(self, locale: str) -> list[_Pattern]:
        if locale not in self._patterns:
            patterns = []
            for key, source in self._catalog.texts.get(locale, {}).items():
                if isinstance(source, str) and "{{" in source and "{%" not in source:
                    patterns.append(_compile(key, source.strip(), locale))
            self._patterns[locale] = patterns
        return self._patterns[locale]

    def _entry_by_title(self, title: str, locale: str) -> str | None:
        if locale not in self._titles:
            index = self._content.index
            self._titles[locale] = {t.title.strip(): entry_id for entry_id in index.ids()
                                    if (t := index.text(entry_id, locale)) is not None}
        return self._titles[locale].get(title)

    # ---- taps ------------------------------------------------------------------------------------
    def tap(self, data: str | None) -> str:
        """What the parent tapped, in Japanese: '出産のあと' for 'f:main_menu:menu:birth'."""
        kind, value = parse_postback(data or "")
        label = None
        if kind == "f":
            label = self._flow_option(value)
        elif kind == "cmd":
            label = self._ja(COMMAND_KEYS.get(value))
        elif kind == "privacy":
            label = self._ja(PRIVACY_KEYS.get(value))
        elif kind == "lang":
            label = f"言語を選ぶ: {language_label(value)}"
        elif kind == "lang-page":
            label = "言語の一覧の続き"
        elif kind == "muni":
            label = f"住んでいる所: {self._municipality(value)}"
        elif kind == "res":
            title = self._content.index.text(value, "ja") if self._content.index.has(value) else None
            label = f"資料: {title.title}" if title else None
        elif kind == "fb":
            label = self._ja("answers.helped" if value.startswith("helped:") else "answers.not_helped")
        elif kind == "case" and value == "close":
            label = self._ja("handoff.end_case")
        return label or "(内容の分からないボタン)"

    def _flow_option(self, value: str) -> str | None:
        flow_id, _, rest = value.partition(":")
        step_id, _, option_id = rest.partition(":")
        if option_id in ("@yes", "@no"):
            return self._ja("input.answer_yes" if option_id == "@yes" else "input.answer_no")
        flows = self._content.flows
        step = flows.step(flow_id, step_id) if flows else None
        option = next((o for o in (step.get("options") or []) if o.get("id") == option_id), None) if step else None
        return self._ja(option.get("label")) if option else None

    def _municipality(self, slug: str) -> str:
        if slug == "other":
            return self._ja("core.municipality_other") or "その他"
        return next((label for s, label in self._content.municipalities if s == slug), slug)

    def _ja(self, key: str | None) -> str | None:
        if not key or not self._catalog.has("ja", key):
            return None
        return self._catalog.try_render("ja", key) or self._catalog.texts["ja"][key]


def _compile(key: str, source: str, locale: str) -> _Pattern:
    names, filters, parts, last = [], [], [], 0
    for match in VARIABLE.finditer(source):
        parts.append(re.escape(source[last:match.start()]))
        parts.append(f"({date_regex(locale)})" if match.group(2) == "date" else "(.+?)")
        names.append(match.group(1))
        filters.append(match.group(2))
        last = match.end()
    parts.append(re.escape(source[last:]))
    return _Pattern(key, re.compile("".join(parts), re.DOTALL), tuple(names), tuple(filters))


def read_date(text: str, locale: str) -> date | None:
    """The date that `format_date(…, locale)` wrote as `text` ('Thứ Hai, 07/12/2026' in vi), or None.

    Every locale writes the year and the day in digits; the month in digits or by name. Each
    candidate is written again in the locale and kept only when it gives the same text.
    """
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    years = [n for n in numbers if n >= 1000]
    days = sorted({n for n in numbers if 1 <= n <= 31})
    for year in years:
        for month in range(1, 13):
            for day in days:
                try:
                    candidate = date(year, month, day)
                except ValueError:
                    continue
                if format_date(candidate, locale) == text.strip():
                    return candidate
    return None


_cache: dict[int, Gloss] = {}


def gloss_for(content) -> Gloss:
    """One Gloss per loaded content set (content reloads make a new one)."""
    found = _cache.get(id(content))
    if found is None or found._content is not content:
        _cache.clear()
        found = _cache[id(content)] = Gloss(content)
    return found
