"""The locale catalog: every user-facing text, per locale, rendered with Jinja2 (StrictUndefined)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, StrictUndefined, TemplateError

from bot import LOCALES
from bot.content.localformat import format_date, format_number
from bot.content.yamlfile import ProblemsError, YamlFileError, load_yaml_with_lines

FALLBACK_LOCALE = "en"


class CatalogError(ProblemsError):
    pass


@dataclass(frozen=True)
class TextRef:
    """Where a text came from, for error messages that point at a line."""
    path: Path
    line: int


def _flatten(prefix: str, value, lines: dict, out: dict, refs: dict, path: Path) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), child, lines, out, refs, path)
    elif isinstance(value, list):
        # Word lists (command and keyword triggers) are kept as lists: "a|b|c" would invite typos.
        out[prefix] = [str(item) for item in value if item is not None]
        refs[prefix] = TextRef(path, lines.get(prefix, 1))
    else:
        out[prefix] = "" if value is None else str(value)
        refs[prefix] = TextRef(path, lines.get(prefix, 1))


class Catalog:
    def __init__(self, texts: dict[str, dict[str, str]], refs: dict[str, dict[str, TextRef]] | None = None):
        self.texts = texts
        self.refs = refs or {}
        self._env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self._compiled: dict[tuple[str, str], object] = {}
        self._normalised: dict[str, list[str]] = {}
        self._word_sets: dict[tuple[str, Callable[[str], str]], frozenset[str]] = {}
        self._longest: dict[tuple[str, Callable[[str], str]], int] = {}

    @classmethod
    def load(cls, directory: Path) -> Catalog:
        texts: dict[str, dict[str, str]] = {}
        refs: dict[str, dict] = {}
        problems: list[str] = []
        for locale in LOCALES:
            path = directory / f"{locale}.yaml"
            if not path.exists():
                problems.append(f"{path}: missing: every locale needs a file; copy en.yaml and translate it")
                continue
            try:
                data, lines = load_yaml_with_lines(path)
            except YamlFileError as exc:
                problems.append(str(exc))
                continue
            if not isinstance(data, dict):
                problems.append(f"{path}:1: the file must be a mapping of keys to texts")
                continue
            texts[locale], refs[locale] = {}, {}
            _flatten("", data, lines, texts[locale], refs[locale], path)
        if problems:
            raise CatalogError(problems)
        return cls(texts, refs)

    def has(self, locale: str, key: str) -> bool:
        return key in self.texts.get(locale, {})

    def words(self, locale: str, key: str) -> list[str]:
        """A word list (e.g. `commands.menu`) of one locale; empty when the locale has none."""
        value = self.texts.get(locale, {}).get(key)
        return value if isinstance(value, list) else []

    def normalised_words(self, key: str, normalise) -> list[str]:
        """Every locale's words for `key`, normalised once per catalog (they are matched per message)."""
        if key not in self._normalised:
            words = {normalise(w) for lists in self.all_words(key).values() for w in lists}
            self._normalised[key] = sorted(w for w in words if w)
        return self._normalised[key]

    def longest_word(self, key: str, normalise: Callable[[str], str]) -> int:
        """The length of the longest of `normalised_words(key, normalise)` (0 when none), kept
        with them: a message longer than a keyword allows skips the list."""
        cache_key = (key, normalise)
        if cache_key not in self._longest:
            self._longest[cache_key] = max((len(word) for word in self.normalised_words(key, normalise)), default=0)
        return self._longest[cache_key]

    def word_set(self, key: str, normalise: Callable[[str], str]) -> frozenset[str]:
        """Every locale's words for `key` as `normalise` makes them, for a membership test; made
        once per catalog and function (a typed command is looked up in them on every text)."""
        cache_key = (key, normalise)
        if cache_key not in self._word_sets:
            words = self.all_words(key).values()
            self._word_sets[cache_key] = frozenset(normalise(w) for lists in words for w in lists)
        return self._word_sets[cache_key]

    def all_words(self, key: str) -> dict[str, list[str]]:
        """The word list `key` of every locale: users mix languages, so commands match in any of them."""
        return {locale: self.words(locale, key) for locale in self.texts}

    def text(self, locale: str, key: str, /, **variables) -> str:
        """The text for `key` in `locale`, falling back to English (never a blank message)."""
        if not self.has(locale, key):
            locale = FALLBACK_LOCALE
        raw = self.texts[locale][key]
        if isinstance(raw, str) and "{" not in raw:
            return raw.strip()           # no placeholder, tag or comment: Jinja would return it as is
        template = self._template(locale, key)
        return template.render(**variables, locale=locale).strip()

    def _template(self, locale: str, key: str):
        cache_key = (locale, key)
        if cache_key not in self._compiled:
            env = self._env.overlay()
            # An overlay shares its parent's filter dict: setting "date" on it would set it for every
            # locale, and a Vietnamese text rendered after a Japanese one would write the Japanese date.
            env.filters = {**env.filters,
                           "date": lambda value, _l=locale: format_date(_as_date(value), _l),
                           "number": lambda value, _l=locale: format_number(value, _l)}
            self._compiled[cache_key] = env.from_string(self.texts[locale][key])
        return self._compiled[cache_key]

    def try_render(self, locale: str, key: str, /, **variables) -> str | None:
        try:
            return self.text(locale, key, **variables)
        except TemplateError:
            return None


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
