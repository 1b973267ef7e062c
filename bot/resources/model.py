"""The resource index in memory: entries (facts) and their per-locale texts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from bot.resources.search import SearchEngine, SearchResult

# A missing translation falls back to English, then Japanese (the two reference texts).
FALLBACK_LOCALES = ("en", "ja")


@dataclass(frozen=True)
class Opening:
    """One line of opening hours, shown in the parent's language: weekdays 8:30-17:00."""
    days: str                           # weekdays, weekends, daily, mon-sat, sun-holidays, sun-holidays-yearend-gw
    start: str
    end: str
    next_day: bool = False              # 18:00 to 8:00 the next morning


@dataclass(frozen=True)
class Contact:
    name: str                           # the official name, as on the building or the phone line
    phone: str | None = None
    hours: str | None = None            # free text (older entries); `opening` when structured
    url: str | None = None
    alt_phone: str | None = None
    languages: str | None = None
    role: str | None = None             # its label per locale: `contact_roles` in resources/text/
    address: str | None = None
    opening: tuple[Opening, ...] = ()


@dataclass(frozen=True)
class LocalVariant:
    """What a user of one municipality (or of the area it is in) is shown instead of the contacts."""
    contacts: tuple[Contact, ...]
    sources: tuple[Source, ...]
    verify: str | None = None


@dataclass(frozen=True)
class Source:
    url: str
    publisher: str
    type: str


def is_official(url: str, domains: tuple[str, ...]) -> bool:
    """`url` is on one of the official sites (resources/official_domains.yaml), subdomains included."""
    host = (urlparse(url.strip()).hostname or "").lower()
    return any(host == domain or host.endswith("." + domain) for domain in domains)


@dataclass(frozen=True)
class EntryText:
    title: str
    answer: str
    label: str | None = None
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    where: str = ""                     # "file:line" of the text block, for messages


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    scope: str                          # "national" | "municipal"
    municipality: str | None
    handoff_recommended: bool
    last_verified: str                  # ISO date as written by the admin
    contacts: tuple[Contact, ...] = ()
    sources: tuple[Source, ...] = ()
    keywords: tuple[str, ...] = ()      # shared by all locales (official terms, romaji, place names)
    verify: str | None = None
    where: str = ""                     # "file:line" of the entry, for messages
    local: dict[str, LocalVariant] = field(default_factory=dict)   # municipality or area slug -> facts
    localizes: tuple[str, ...] = ()     # national entries this municipality's entry is the local version of

    def variant_for(self, municipality: str | None, areas: dict[str, str]) -> LocalVariant | None:
        """The user's own municipality first, then the wider area it is in (Toshima-ku, then tokyo-to)."""
        for slug in (municipality, areas.get(municipality or "")):
            if slug and slug in self.local:
                return self.local[slug]
        return None


MIN_ASKED_LETTERS = 2       # "豊島区は？" without the name is "区は？": a name alone asks about the place


@dataclass
class ResourceIndex:
    entries: dict[str, Entry]
    texts: dict[str, dict[str, EntryText]]          # locale -> entry id -> text
    # locale -> contact_roles/days -> key -> text
    words: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)   # municipality slug -> the wider area it is in
    # municipality slug -> how parents write its name (resources/municipalities.yaml `names:`)
    place_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # resources/official_domains.yaml: the only sites shown to a parent as "official information"
    # (empty when the file is missing or broken: `resources check` reports it, every source is shown)
    official_sites: tuple[str, ...] = ()
    engine: SearchEngine | None = field(default=None, repr=False)

    def ids(self) -> list[str]:
        return list(self.entries)

    def shows_source(self, source: Source) -> bool:
        """A source may be shown to a parent as official information: on the allow-list, if there is one."""
        return not self.official_sites or is_official(source.url, self.official_sites)

    def has(self, entry_id: str) -> bool:
        return entry_id in self.entries

    def get(self, entry_id: str) -> Entry | None:
        return self.entries.get(entry_id)

    def entry(self, entry_id: str) -> Entry:
        """An entry the caller knows exists (checked with `has`, or named by checked content)."""
        return self.entries[entry_id]

    def known_text(self, entry_id: str, locale: str) -> EntryText:
        """`text` for an entry the checks guarantee has one (every entry has Japanese and English)."""
        found = self.text(entry_id, locale)
        if found is None:
            raise KeyError(f"entry {entry_id!r} has no text")
        return found

    def text(self, entry_id: str, locale: str) -> EntryText | None:
        """The entry's text in `locale`, else in English, else in Japanese."""
        for candidate in (locale, *FALLBACK_LOCALES):
            found = self.texts.get(candidate, {}).get(entry_id)
            if found is not None:
                return found
        return None

    def word(self, locale: str, group: str, key: str) -> str | None:
        """A contact role or day word in `locale`, else English, else Japanese."""
        for candidate in (locale, *FALLBACK_LOCALES):
            found = self.words.get(candidate, {}).get(group, {}).get(key)
            if found:
                return found
        return None

    @cached_property
    def _localizers(self) -> dict[str, tuple[tuple[str | None, str], ...]]:
        """National entry id -> (municipality, id) of the entries that localize it, in entry order."""
        found: dict[str, list[tuple[str | None, str]]] = {}
        for e in self.entries.values():
            for national in e.localizes:
                found.setdefault(national, []).append((e.municipality, e.id))
        return {national: tuple(pairs) for national, pairs in found.items()}

    @cached_property
    def _local_by_category(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Category -> (municipality, id) of the municipalities' entries, in entry order."""
        found: dict[str, list[tuple[str, str]]] = {}
        for e in self.entries.values():
            if e.municipality:
                found.setdefault(e.category, []).append((e.municipality, e.id))
        return {category: tuple(pairs) for category, pairs in found.items()}

    def local_version(self, entry_id: str, municipality: str | None) -> str | None:
        """The entry of this municipality (or of the area it is in) that stands for this one: its
        local version (`localizes:`) of a national entry ("where do I get the boshi techo in
        Matsudo?": Matsudo's page, which says where in Matsudo), or its own entry of the same
        category for another municipality's entry (Matsudo's desk for Toshima's desk), when it
        has exactly one. None when there is none, or the entry is of this place already.
        Looked up in tables made once per index: a city-sized index has 50,000 entries."""
        entry = self.entries.get(entry_id)
        if not municipality or entry is None:
            return None
        places = {municipality, self.areas.get(municipality)} - {None}
        if entry.municipality in places:
            return None
        if entry.municipality is None:
            return next((e for place, e in self._localizers.get(entry_id, ()) if place in places), None)
        counterparts = [e for place, e in self._local_by_category.get(entry.category, ()) if place in places]
        return counterparts[0] if len(counterparts) == 1 else None

    def place_apart(self, text: str) -> tuple[str, str | None]:
        """What a message asks without the municipality names it holds, and the municipality it
        names first (None: none). A message that is little more than a name ("Toshima?", "豊島区は？")
        asks about the place itself: it is kept as it is. The classifier's route head learns from
        texts taken apart the same way (bot/dialogue/classifier_train.py)."""
        asked, named = self.without_place_names(text)
        if named is None or sum(ch.isalnum() for ch in asked) < MIN_ASKED_LETTERS:
            return text, None
        return asked, named

    @cached_property
    def _places(self) -> tuple[re.Pattern | None, dict[str, str]]:
        """One pattern for every name, longest first ("Toshima City" before "Toshima"; a name in
        Latin letters only as a whole word: "toshima" not inside another word), and each name's
        municipality; made once per index, asked for every message."""
        names = sorted({name for names in self.place_names.values() for name in names}, key=lambda n: (-len(n), n))
        parts = [rf"(?<![^\W\d_]){re.escape(n)}(?![^\W\d_])" if n.isascii() else re.escape(n) for n in names]
        slug_of = {name.casefold(): slug for slug, names in self.place_names.items() for name in names}
        return (re.compile("|".join(parts), re.IGNORECASE) if parts else None), slug_of

    def without_place_names(self, text: str) -> tuple[str, str | None]:
        """(the text with the municipalities' names blanked out, the one named first or None).

        A name says where the parent lives, not what she asks: left in, "I live in Matsudo, how do
        I apply for child allowance?" found Matsudo's pregnancy page, whose title holds the name
        (its rare n-grams outweighed the question's words, and the classifier had learned them)."""
        pattern, slug_of = self._places
        if pattern is None:
            return text, None
        named: list[str] = []

        def blank(match: re.Match) -> str:
            named.append(match.group(0).casefold())
            return " "
        stripped = pattern.sub(blank, text)
        if not named:
            return text, None
        return stripped, slug_of.get(named[0])

    def search(self, query: str, locale: str, municipality: str | None = None,
               pivot_text: str | None = None) -> SearchResult:
        if self.engine is None:
            from bot.resources.search import SearchEngine
            self.engine = SearchEngine.build(self)
        return self.engine.search(query, locale, municipality=municipality, pivot_text=pivot_text)
