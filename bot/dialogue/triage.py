"""Safety triage, matching: is this message an emergency, a crisis, or a case for a person?

Pure logic over compiled rules (bot/dialogue/triage_rules.py reads and checks them from ``flows/triage/``).

Every message is checked against the terms of ALL files, because people mix languages and pick
the wrong one. Text and terms are compared in a canonical form (see ``canonical_text``): NFKC,
casefolded, katakana as hiragana, no spaces inside Japanese / Chinese / Thai / Burmese text.
A term written with accents also matches the same letters typed without accents ("bé không thở"
matches "be khong tho") but not other accents ("tự tử" does not match "từ từ"); Latin terms match
whole words, Indic terms the start of a word, CJK / Thai / Burmese / Korean terms anywhere.
A rule matches when each line of its ``when`` has a signal that matches and no signal of its
``unless`` does; the highest level wins (emergency > crisis > advisor > guide) and the first
matching rule of that level gives the category.

Danger now vs. asking about danger: level ``guide`` is a calm question about what to do or whom
to call ("is there a number to ask at night?", "my cat is not eating"). It is answered at once
with the right number and an offer of a person, and opens no case. Advisor and guide rules
may have ``unless`` (e.g. "unless the message is a calm question"); a crisis rule that only names
its subject ("DV", "189") may give way to a question about a service; an emergency is never
lowered by any word.
A negation ("no bleeding", "出血はない", or a cue with ``~`` for the term: "no ~") hides the
words it covers from that signal only; the same word elsewhere in the message still counts.
A guide for admins is in flows/TRIAGE.md.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

LEVELS = ("emergency", "crisis", "advisor", "guide")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Public results and errors


@dataclass(frozen=True)
class TriageResult:
    level: str                      # "emergency" | "crisis" | "advisor" | "guide" | "none"
    category: str | None
    topic: str | None
    resource_ids: tuple[str, ...]
    matched: tuple[str, ...]        # ids of the rules that matched (never user text)

    @property
    def is_urgent(self) -> bool:
        return self.level in ("emergency", "crisis")

    @property
    def is_calm_question(self) -> bool:
        """Asking about danger, not in danger: answer with the number now, offer a person, no case."""
        return self.level == "guide"


NO_MATCH = TriageResult(level="none", category=None, topic=None, resource_ids=(), matched=())


# ---------------------------------------------------------------------------------------------
# Compiled rules


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    category: str
    topic: str | None
    resource_ids: tuple[str, ...]
    when: tuple[tuple[str, ...], ...]   # every line must match; a line matches if any of its signals does
    unless: tuple[str, ...] = ()        # the rule does not apply when any of these signals matches
    # "answer": a calm question about the subject is answered from the index, with a person
    # offered, when the classifier is sure it is a question and not distress (bot/dialogue/routing.py)
    questions: str | None = None


@dataclass(frozen=True)
class Signal:
    """How one signal is recognised. Terms written with accents run on the canonical text (so
    "tự tử" matches "tự tử" and "tu tu" but not "từ từ"); everything else runs on the same text
    without accents, which has the same length, so negation spans line up."""
    id: str
    accented: re.Pattern | None
    plain: re.Pattern | None
    patterns: tuple[re.Pattern, ...]
    negations_accented: re.Pattern | None = None
    negations_plain: re.Pattern | None = None
    negation_patterns: tuple[re.Pattern, ...] = ()

    def matches(self, text: str, plain: str) -> bool:
        """``text``: canonical message; ``plain``: the same without accents."""
        return self.present(text, plain) and self.unnegated(text, plain)

    def present(self, text: str, plain: str) -> bool:
        """Whether any term occurs at all, negated or not: a cheap test that settles most messages."""
        return bool((self.accented is not None and self.accented.search(text))
                    or (self.plain is not None and self.plain.search(plain))
                    or any(p.search(plain) for p in self.patterns))

    def unnegated(self, text: str, plain: str) -> bool:
        """Of a signal `present` in the text: whether a term still occurs outside every negation."""
        spans = _spans(self.negations_accented, text) + _spans(self.negations_plain, plain)
        for pattern in self.negation_patterns:
            spans += _spans(pattern, plain)
        if not spans:
            return True           # nothing hidden: the terms `present` found are still there
        text, plain = _mask(text, spans), _mask(plain, spans)
        if self.accented is not None and self.accented.search(text):
            return True
        if self.plain is not None and self.plain.search(plain):
            return True
        return any(p.search(plain) for p in self.patterns)


def _spans(regex: re.Pattern | None, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in regex.finditer(text)] if regex is not None else []


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "\x00" * (end - start)
    return "".join(chars)


# Characters of a term that are not matched literally (term_regex: optional space, wildcard,
# optional apostrophe, space or hyphen): a term's key is taken from between them.
_NOT_LITERAL = re.compile(r"[ *'\-]+")
KEY_LENGTH = 4


def term_key(plain_term: str) -> str:
    """A piece of text every match of the term contains: up to KEY_LENGTH letters from the middle
    of its longest literal stretch. `plain_term`: the canonical term without accents, which is
    what the text without accents holds wherever the term matches (an accented letter of the term
    matches itself or its base letter, both the base letter there)."""
    run = max(_NOT_LITERAL.split(plain_term), key=len)
    start = max(0, (len(run) - KEY_LENGTH) // 2)
    return run[start:start + KEY_LENGTH]


# One regex a signal runs to find its terms: (signal id, regex, runs on the text without accents?).
Check = tuple[str, re.Pattern, bool]


@dataclass(frozen=True)
class TermIndex:
    """Which signals can match a text at all, and which of their regexes, before any regex runs.

    Each term is indexed under its `term_key`; a text's candidates are the signals of every key
    found in it (each of its pieces of 1 to KEY_LENGTH letters). A message holds the keys of a few
    signals out of a hundred, so the others' regexes never run. Signals with admin `patterns`
    (free regular expressions, nothing to index) are always candidates.

    Which regexes a text runs is told by key too (`checks`): a signal's accented terms' regex only
    for a key of an accented term, its other terms' regex only for a key of theirs, and each of
    its patterns only for one of that pattern's keys (a pattern whose keys cannot be told runs on
    every text: `always_checks`). A regex runs at most once per text, and none after its signal
    was found.
    """
    by_key: dict[str, frozenset[str]]
    always: frozenset[str]
    regexes: tuple[Check, ...] = ()
    checks: dict[str, tuple[int, ...]] | None = None      # key -> positions in `regexes`; None: ask each signal
    always_checks: tuple[int, ...] = ()

    def keys_in(self, plain: str) -> set[str]:
        """The index keys the text holds (its pieces of 1 to KEY_LENGTH letters that are keys)."""
        pieces = set(plain)
        for length in range(2, KEY_LENGTH + 1):
            pieces.update([plain[start:start + length] for start in range(len(plain) - length + 1)])
        return pieces & self.by_key.keys()

    def candidates(self, plain: str, keys: set[str] | None = None) -> set[str]:
        found = set(self.always)
        by_key = self.by_key
        for key in self.keys_in(plain) if keys is None else keys:
            found |= by_key[key]
        return found

    def matched(self, canon: str, plain: str, keys: set[str], signals: dict[str, Signal]) -> set[str] | None:
        """Every signal that matches the text (`Signal.matches`), running only the regexes of the
        keys it holds: the others cannot match. None: no checks, ask each signal."""
        if self.checks is None:
            return None
        todo = set(self.always_checks)      # a regex under several of the text's keys runs once
        checks = self.checks
        for key in keys:
            todo.update(checks.get(key, ()))
        present: set[str] = set()           # a term or pattern found: negations decide the rest
        found: set[str] = set()
        regexes = self.regexes
        for position in todo:
            signal_id, regex, on_plain = regexes[position]
            if signal_id not in present and regex.search(plain if on_plain else canon):
                found |= self._unnegated(signal_id, signals, canon, plain, present)
        return found

    @staticmethod
    def _unnegated(signal_id: str, signals: dict[str, Signal], canon: str, plain: str, present: set[str]) -> set[str]:
        present.add(signal_id)
        signal = signals.get(signal_id)
        return {signal_id} if signal is not None and signal.unnegated(canon, plain) else set()


@dataclass(frozen=True)
class TriageRules:
    rules: tuple[Rule, ...]                 # in file order
    signals: dict[str, Signal]
    index: TermIndex | None = None          # None: every signal's regexes run on every text

    @functools.cached_property
    def rules_naming(self) -> dict[str, tuple[int, ...]]:
        """Signal -> the positions of the rules with it in a `when` line (a rule can match only
        when one of its signals does)."""
        named: dict[str, list[int]] = {}
        for position, rule in enumerate(self.rules):
            for signal_id in {s for line in rule.when for s in line}:
                named.setdefault(signal_id, []).append(position)
        return {signal_id: tuple(positions) for signal_id, positions in named.items()}


# ---------------------------------------------------------------------------------------------
# Triage


class LatestCall(Generic[T]):
    """The answer to the latest call only. A turn asks about its message twice (the safety check,
    then the answer's routing): the second call takes the first one's answer. The text is
    compared by value, the content objects (rules, a model) by identity, so a content reload or
    another model never sees an earlier answer. The entry is one tuple, replaced whole."""

    def __init__(self) -> None:
        self._entry: tuple[str, tuple[object, ...], T] | None = None

    def get(self, text: str, owners: tuple[object, ...], compute: Callable[[], T]) -> T:
        entry = self._entry
        if (entry is not None and entry[0] == text and len(entry[1]) == len(owners)
                and all(kept is owner for kept, owner in zip(entry[1], owners))):
            return entry[2]
        value = compute()
        self._entry = (text, owners, value)
        return value


_triaged: LatestCall[TriageResult] = LatestCall()


def triage(text: str, rules: TriageRules) -> TriageResult:
    """Classify one message. Never raises on any text."""
    if not text or not text.strip():
        return NO_MATCH
    return _triaged.get(text, (rules,), lambda: _triage(text, rules))      # the result is immutable


class SignalHits:
    """Which signals match one text, each worked out once and only when asked: the triage and the
    classifier's features (bot/dialogue/routing.py `signals_in`) ask about the same message."""

    def __init__(self, text: str, rules: TriageRules):
        self._canon = canonical_text(text)
        self._plain = strip_accents(self._canon)
        self._signals = rules.signals
        keys = rules.index.keys_in(self._plain) if rules.index is not None else set()
        self._candidates = rules.index.candidates(self._plain, keys) if rules.index is not None else None
        # With the index's checks, every match at once (a few regexes); without, each signal's when asked.
        self._matched = rules.index.matched(self._canon, self._plain, keys, rules.signals) \
            if rules.index is not None else None
        self._seen: dict[str, bool] = {}

    @property
    def possible(self) -> set[str] | None:
        """The signals the term index leaves possible (None: no index, any may match): a rule
        with a line none of whose signals is possible cannot match, without asking `hit`."""
        return self._candidates

    @property
    def matched(self) -> set[str] | None:
        """Every signal that matches, when the index worked them out at once (else None: ask `hit`)."""
        return self._matched

    def hit(self, signal_id: str) -> bool:
        if self._matched is not None:
            return signal_id in self._matched
        seen = self._seen.get(signal_id)
        if seen is None:
            signal = self._signals.get(signal_id)
            seen = self._seen[signal_id] = bool(
                signal and (self._candidates is None or signal_id in self._candidates)
                and signal.matches(self._canon, self._plain))
        return seen


_hits: LatestCall[SignalHits] = LatestCall()


def signal_hits(text: str, rules: TriageRules) -> SignalHits:
    """The signal matches of `text` (the latest message's are kept)."""
    return _hits.get(text, (rules,), lambda: SignalHits(text, rules))


def matching_signals(text: str, rules: TriageRules) -> list[str]:
    """Every signal whose terms occur in the text (not negated), sorted."""
    hits = signal_hits(text, rules)
    if hits.matched is not None:
        return sorted(hits.matched)
    asked = rules.signals if hits.possible is None else hits.possible     # the others cannot match
    return sorted(signal_id for signal_id in asked if signal_id in rules.signals and hits.hit(signal_id))


def _triage(text: str, rules: TriageRules) -> TriageResult:
    hits = signal_hits(text, rules)
    if hits.matched is not None:
        matched = _rules_matching(hits.matched, rules)
    else:
        hit, possible = hits.hit, hits.possible
        matched = [rule for rule in rules.rules
                   if (possible is None or not any(possible.isdisjoint(line) for line in rule.when))
                   and all(any(hit(s) for s in line) for line in rule.when) and not any(hit(s) for s in rule.unless)]
    if not matched:
        return NO_MATCH
    matched.sort(key=lambda rule: LEVEL_RANK[rule.level])        # stable: file order within a level
    top = matched[0]
    resource_ids: list[str] = []
    for rule in matched:
        resource_ids += [rid for rid in rule.resource_ids if rid not in resource_ids]
    return TriageResult(level=top.level, category=top.category, topic=top.topic,
                        resource_ids=tuple(resource_ids), matched=tuple(rule.id for rule in matched))


def _rules_matching(signals: set[str], rules: TriageRules) -> list[Rule]:
    """The rules (in file order) whose every `when` line has one of `signals` and whose `unless`
    has none; only the rules naming one of the signals are looked at."""
    if not signals:
        return []
    named = rules.rules_naming
    positions = sorted({position for signal_id in signals for position in named.get(signal_id, ())})
    return [rule for rule in map(rules.rules.__getitem__, positions)
            if all(not signals.isdisjoint(line) for line in rule.when) and signals.isdisjoint(rule.unless)]


# ---------------------------------------------------------------------------------------------
# Canonical text: the one form that both messages and terms are compared in

_LATIN_EXTRA = {"đ": "d", "ð": "d", "ł": "l", "ø": "o", "ħ": "h", "ı": "i", "ŀ": "l"}
_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_SPACES = re.compile(r"\s+")
_strip_cache: dict[str, str] = {}


def is_latin_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def base_letter(ch: str) -> str:
    """The letter without its accents ("ệ" -> "e", "đ" -> "d"); other characters unchanged."""
    cached = _strip_cache.get(ch)
    if cached is None:
        cached = _LATIN_EXTRA.get(ch, ch)
        decomposed = unicodedata.normalize("NFD", ch)
        if (len(decomposed) > 1 and is_latin_letter(decomposed[0])
                and all(unicodedata.combining(c) for c in decomposed[1:])):
            cached = decomposed[0]
        _strip_cache[ch] = cached
    return cached


_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def kana_to_hiragana(text: str) -> str:
    return text.translate(_HIRAGANA)


# Scripts written without spaces between words (CJK, kana, Thai, Lao, Myanmar, Khmer): a space
# between two such characters is dropped, so "いきを していません" == "いきをしていません".
# Korean keeps its spaces (they separate words: "도시마구 토요일" must not contain "구토"); a space
# inside a Korean term is optional instead ("죽고 싶" also matches "죽고싶").
_RUN_CHARS = ("\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff"
              "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff")
_SPACE_IN_RUN = re.compile(f"(?<=[{_RUN_CHARS}]) (?=[{_RUN_CHARS}])")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Indic spelling variants people mix freely: nukta (ख़ = ख), chandrabindu = anusvara (साँस = सांस).
_INDIC = {0x093C: None, 0x09BC: None, 0x0A3C: None, 0x0901: 0x0902, 0x0981: 0x0982}


# A letter typed three or more times in a row is one letter: panic stretches words ("HELPPP",
# "socorrooo", "ช่วยด้วยยย", "たすけてええ" is left as is: two). Digits are kept ("1000").
# Not Chinese characters: "急急急" is a word of its own.
_STRETCHED = re.compile(r"([^\W\d_\u3400-\u9fff\uf900-\ufaff])\1{2,}")


def canonical_text(text: str) -> str:
    """NFKC, casefold, one kind of apostrophe, no zero-width characters, katakana as hiragana,
    single spaces, letters stretched by repetition shortened to one, and no spaces inside runs of
    CJK / Hangul / Thai / Myanmar text."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES).translate(_INVISIBLE).translate(_INDIC)
    text = _STRETCHED.sub(r"\1", text)
    text = _SPACES.sub(" ", kana_to_hiragana(text)).strip()
    return _SPACE_IN_RUN.sub("", text)


class _BaseLetters(dict):
    """str.translate table of `base_letter`, filled per character on first sight."""

    def __missing__(self, code: int) -> str:
        self[code] = base_letter(chr(code))
        return self[code]


_BASE_LETTERS = _BaseLetters()


def strip_accents(text: str) -> str:
    """Latin letters without accents, character for character (same length as ``text``)."""
    return text.translate(_BASE_LETTERS)
