"""Offline search over the resource index in all 17 languages, mixed-language text included.

Every entry is one document made of all its locales' titles, labels, keywords, examples and (a
little) answers plus its shared keywords, so a Vietnamese question typed without accents, a
romaji word or a Japanese term matches whatever the user's language. Features are word tokens and character n-grams of
normalised text (NFKC, casefold, Latin diacritics stripped, katakana folded to hiragana); n-grams
make scripts written without spaces (Thai, Burmese, Japanese, Chinese) and typos work. Scoring is
BM25 with precomputed weights, plus a bonus for a whole keyword found in the question; the user's
own locale counts extra, municipal entries rank up at home and down elsewhere. A confidence
decision says answer / suggest / nothing.
"""
from __future__ import annotations

import heapq
import math
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, cast

# BM25: k1 saturates repeated matches; b is low because documents differ in length mostly by
# how many locales are translated yet, which says nothing about relevance.
K1, B = 1.2, 0.3
# Answers add the words of the facts themselves (numbers, official names) but are long and
# general, so they count little; a held-out run showed 0.2 > 0 and > 0.5.
FIELD_WEIGHTS = {"title": 2.0, "label": 1.0, "keywords": 2.0, "examples": 1.0, "shared": 2.0, "answer": 0.2}
# A whole keyword found in the question adds KEYWORD_BONUS x its idf (held-out: 0 < 3-5 > 10).
KEYWORD_BONUS = 4.0
LOCALE_BOOST = 0.3                 # extra weight of a query feature found in the user's locale texts
HOME_FACTOR, AWAY_FACTOR, UNKNOWN_FACTOR = 1.5, 0.5, 0.85
# Confidence. coverage = share of the question's information (idf of its features; features the
# index has never seen count as much as the rarest ones) found in the top entry; margin = how far
# the top entry leads the second. Calibrated on ~3,900 held-out examples (each locale's examples
# queried against an index without them) and 40 off-topic messages: answering at coverage >= 0.3
# and margin >= 0.2 is right ~94% of the time for ~2/3 of questions; below, up to 3 suggestions.
# Greetings and chit-chat share words with the examples, so "nothing" needs both little
# coverage and little matched information.
ANSWER_COVERAGE, ANSWER_MARGIN = 0.3, 0.2
SUGGEST_COVERAGE, SUGGEST_MATCHED = 0.15, 8.0
SUGGEST_RELATIVE = 0.5             # a suggestion scores at least half of the top candidate
MAX_SUGGESTIONS = 3
RANKED_KEPT = 10
# Large indexes: postings walked in full per query, then exact scoring of this many candidates.
POSTINGS_BUDGET, CANDIDATES = 30000, 60
# From this many entries, postings are added up with numpy instead of a dict: the same sums,
# but a Python loop over 30,000 postings is most of a query's time at city scale.
DENSE_FROM = 2000

# n-gram sizes per script, chosen on held-out examples (each locale's examples queried against an
# index without them): long grams for Latin words, short ones for syllable-dense scripts.
NGRAMS = {"latin": (3, 4, 5), "cjk": (1, 2, 3), "hangul": (1, 2, 3), "thai": (2, 3, 4), "myanmar": (2, 3),
          "indic": (2, 3, 4), "other": (2, 3), "digit": ()}
PADDED = {"latin", "indic", "other"}          # scripts written with spaces: n-grams see word edges
_WORD_MARK = "\x01"


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    decision: str                        # "answer" | "suggest" | "none"
    candidates: tuple[Candidate, ...]    # best first; answer: 1, suggest: up to 3, none: ()
    coverage: float = 0.0
    margin: float = 0.0
    ranked: tuple[Candidate, ...] = ()   # the best RANKED_KEPT by score, for fusion with the classifier


# ---- text → features --------------------------------------------------------------------------

def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLDING)


class _Folding(dict):
    """str.translate table filled per character on first sight (a few thousand in practice)."""

    def __missing__(self, code: int):
        self[code] = _fold(code)
        return self[code]


def _fold(code: int):
    ch = chr(code)
    category = unicodedata.category(ch)
    if category == "Cf" or 0x300 <= code <= 0x36F:
        return None              # zero-width joiners vary between keyboards; stray accents go
    if 0x30A1 <= code <= 0x30F6:
        return chr(code - 0x60)  # katakana → hiragana: ホイクエン = ほいくえん
    if category == "Nd":
        return str(unicodedata.digit(ch, 0))                  # ၂ २ ๒ → 2
    if ch in _LATIN_EXTRA:
        return _LATIN_EXTRA[ch]
    if _is_latin(ch):
        # é → e, ấ → a: accents are often left out when typing Vietnamese, Portuguese, Spanish
        return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return code


def _is_latin(ch: str) -> bool:
    code = ord(ch)
    return ch.isalpha() and (code < 0x250 or 0x1E00 <= code <= 0x1EFF)


_LATIN_EXTRA = {"đ": "d", "ł": "l", "ø": "o"}
_FOLDING = _Folding()


def _script(ch: str) -> str:
    code = ord(ch)
    if ch.isdigit():
        return "digit"
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF:
        return "latin"
    if 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF:
        return "cjk"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if 0x0E00 <= code <= 0x0E7F:
        return "thai"
    if 0x1000 <= code <= 0x109F or 0xA9E0 <= code <= 0xA9FF or 0xAA60 <= code <= 0xAA7F:
        return "myanmar"
    if 0x0900 <= code <= 0x0DFF:
        return "indic"                                # Devanagari, Bengali, Sinhala
    return "other"


def runs(text: str) -> list[tuple[str, str]]:
    """(script, run) pieces of normalised text: letters of one script, marks attached."""
    pieces: list[tuple[str, str]] = []
    current: list[str] = []
    script: str | None = None
    for ch in text:
        kind = _CLASSES.get(ch) or _classify(ch)
        if kind != script:
            _flush(pieces, script, current)
            current, script = [], kind
        current.append(ch)
    _flush(pieces, script, current)
    return pieces


def _classify(ch: str) -> str:
    # Separators (spaces, punctuation, symbols) form their own runs and are dropped by _flush.
    category = unicodedata.category(ch)
    _CLASSES[ch] = _script(ch) if category[0] in "LMN" or ch == "ー" else _SEPARATOR
    return _CLASSES[ch]


_CLASSES: dict[str, str] = {}
_SEPARATOR = "separator"


def _flush(pieces: list, script: str | None, chars: list[str]) -> None:
    if chars and script != _SEPARATOR:
        pieces.append((script, "".join(chars)))


def features(text: str) -> list[str]:
    return _features_of_normalised(normalise(text))


def _features_of_normalised(text: str) -> list[str]:
    found: list[str] = []
    for script, run in runs(text):
        if script in PADDED or script in ("hangul", "digit"):
            found.append(_WORD_MARK + run)
        padded = f" {run} " if script in PADDED else run
        for n in NGRAMS[script]:
            # a list comprehension: a third faster than extend() with a generator (builds are mostly this)
            found += padded if n == 1 else [padded[i:i + n] for i in range(len(padded) - n + 1)]
    return found


class _LatestQuery:
    """The normalised text and features of the latest message asked about: a turn asks for the
    same message's features twice or three times (the classifier, the search, the place of the
    user), and its phrases once more. One entry, replaced whole."""

    def __init__(self) -> None:
        self._entry: tuple[str, str, tuple[str, ...]] | None = None

    def get(self, text: str) -> tuple[str, tuple[str, ...]]:
        entry = self._entry
        if entry is None or entry[0] != text:
            normalised = normalise(text)
            entry = self._entry = (text, normalised, tuple(_features_of_normalised(normalised)))
        return entry[1], entry[2]


_latest_query = _LatestQuery()


def query_features(text: str) -> tuple[str, ...]:
    """`features(text)`, kept for the latest text (a message's features, asked for per turn)."""
    return _latest_query.get(text)[1]


# ---- the index ---------------------------------------------------------------------------------

class SearchEngine:
    """Postings (entry positions ascending, BM25 weights) per feature, built once per index.

    The postings of all features live in three flat arrays (compressed sparse rows: feature id →
    a slice of positions and weights), so a 50,000-entry index costs 8 bytes a posting, builds in
    one pass plus one sort, and pickles into the content cache as a few large byte blocks.

    A query first adds up the postings of its rarest features, within a budget, so a frequent
    n-gram never walks all of a 5,000-entry index; the best candidates then get the remaining
    features added exactly. Below the budget (the shipped index) the scores are exact BM25.
    """

    def __init__(self, ids, municipalities, postings: Postings, locale_bits: dict[str, int], phrases, areas=None):
        self.ids = ids                           # position → entry id
        self.municipalities = municipalities     # position → slug or None
        self.areas = areas or {}                 # slug → the wider area it lies in (toshima-ku → tokyo-to)
        self.postings = postings
        self.locale_bits = locale_bits           # locale → its bit in postings.locales (terms its texts contain)
        self.phrases = phrases                   # first 2 characters → [(keyword, positions, bonus)]
        self.max_idf = math.log(1 + (len(ids) - 0.5) / 1.5)     # idf of a feature found in one entry
        self._positions = {entry_id: position for position, entry_id in enumerate(ids)}
        self._stems = {_WORD_MARK + form: slug for slug in set(municipalities) if slug
                       for form in (slug.split("-")[0], slug.replace("-", ""))}

    @classmethod
    def build(cls, index) -> SearchEngine:
        ids = list(index.entries)
        municipalities = [index.entries[i].municipality for i in ids]
        # An entry's features depend only on its own texts: an edit of one entry or one locale file
        # extracts again only the entries whose texts changed (hot reload), the rest are reused
        # from the previous build, and the postings are put together from per-entry arrays
        # without a Python loop over every posting. The result is the same as a fresh build
        # (feature ids in order of first appearance). An edit that changes nothing searched (a
        # phone number, a source) reuses the previous postings as they are.
        if len(ids) > REUSE_MAX_ENTRIES:
            forget_previous_builds()          # city scale: one pass, nothing kept (builds take seconds anyway)
            postings, locale_bits, phrase_table = _streamed(index, ids)
            return cls(ids, municipalities, postings, locale_bits, phrase_table, getattr(index, "areas", {}))
        documents = [tuple(_documents(index, entry_id)) for entry_id in ids]
        settings = _settings()
        with _BUILD_LOCK:
            if _LAST_BUILD and _LAST_BUILD["last"].settings != settings:
                _forget()                     # weights changed since (tools and tests tune them)
            last = _LAST_BUILD.get("last")
            if last is not None and last.ids == ids and last.documents == documents:
                postings, locale_bits, phrase_table = last.postings, last.locale_bits, last.phrases
                features_by_documents = last.features
            else:
                previous = last.features if last is not None else {}
                features_by_documents = {}
                entries = []
                phrases: dict[str, set[int]] = defaultdict(set)
                feature_ids = _FeatureIds(_VOCABULARY)
                for position, entry_documents in enumerate(documents):
                    found = features_by_documents.get(entry_documents) or previous.get(entry_documents) \
                        or _entry_features(entry_documents, feature_ids)
                    features_by_documents[entry_documents] = found
                    entries.append(found)
                    for phrase in found.phrases:
                        phrases[phrase].add(position)
                del feature_ids
                postings, locale_bits = _postings(entries, _VOCABULARY)
                phrase_table = _phrase_table(phrases, len(ids))
            if len(_VOCABULARY) > 2 * len(postings.ids) + (1 << 16):
                _forget()                     # mostly features of texts since edited: start afresh
            else:
                _LAST_BUILD["last"] = _Build(ids, documents, features_by_documents, postings, locale_bits,
                                             phrase_table, settings)
        return cls(ids, municipalities, postings, locale_bits, phrase_table, getattr(index, "areas", {}))

    # ---- querying ----------------------------------------------------------------------------

    def search(self, query: str, locale: str, *, municipality: str | None = None,
               pivot_text: str | None = None) -> SearchResult:
        result = self.decide(query, locale, municipality)
        if pivot_text:
            # A machine translation into English is a second opinion; the surer one wins.
            other = self.decide(pivot_text, "en", municipality)
            if (_RANK[other.decision], other.coverage) > (_RANK[result.decision], result.coverage):
                result = other
        return result

    def decide(self, query: str, locale: str, municipality: str | None = None) -> SearchResult:
        terms = set(query_features(query))
        ids = self._ids_of(terms)                       # looked up once for the scores and the coverage
        scores = self.score(terms, locale, municipality, query, ids)
        ranked = heapq.nlargest(RANKED_KEPT, scores.items(), key=lambda item: item[1])
        if not ranked or ranked[0][1] <= 0:
            return SearchResult("none", ())
        (top_position, top), second = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
        matched, coverage = self._coverage(terms, top_position, ids)
        margin = 1 - second / top
        kept = tuple(Candidate(self.ids[p], round(s, 3)) for p, s in ranked if s > 0)
        candidates = tuple(c for c in kept[:MAX_SUGGESTIONS] if c.score >= SUGGEST_RELATIVE * top)
        if coverage >= ANSWER_COVERAGE and margin >= ANSWER_MARGIN:
            return SearchResult("answer", candidates[:1], coverage, margin, kept)
        if coverage >= SUGGEST_COVERAGE or matched >= SUGGEST_MATCHED:
            return SearchResult("suggest", candidates, coverage, margin, kept)
        return SearchResult("none", (), coverage, margin, kept)

    def place_factors(self, entry_ids, municipality: str | None, query: str = "") -> dict[str, float]:
        """How much the user's place ranks each entry up or down (1.0 for national entries)."""
        home = municipality
        if home is None and query and any(self.municipalities):
            home = self._named_home(query_features(query))
        return {entry_id: (self._place_factor(self._positions[entry_id], home)
                           if entry_id in self._positions else 1.0) for entry_id in entry_ids}

    def _named_home(self, features_in_order) -> str | None:
        """The municipality a message names first ("I moved from Matsudo to Toshima": Matsudo).
        Taken from a set before, the pick among two names changed with each process's hash seed."""
        return next((self._stems[f] for f in features_in_order if f in self._stems), None)

    def _ids_of(self, terms: set[str]) -> list[tuple[str, int | None]]:
        """(feature, its postings id or None), in the order of the set."""
        return list(zip(terms, map(self.postings.ids.get, terms)))

    def score(self, terms: set[str], locale: str, municipality: str | None, query_text: str = "",
              ids: list[tuple[str, int | None]] | None = None) -> dict[int, float]:
        """Final scores of the best candidates (all matching entries when the index is small).
        ``ids``: `_ids_of(terms)` when the caller has it."""
        postings, own = self.postings, self.locale_bits.get(locale, 0)
        # Matches in the user's own language count extra over accidental ones in other scripts.
        idf, locales = postings.idf, postings.locales
        known = [(idf[i], t, 1 + LOCALE_BOOST * bool(locales[i] & own), i)
                 for t, i in (self._ids_of(terms) if ids is None else ids) if i is not None]
        known.sort(reverse=True)                   # terms differ: the feature id never decides
        scores: dict[int, float] = defaultdict(float)
        if KEYWORD_BONUS:
            self._add_phrases(scores, query_text)
        budget, rest = POSTINGS_BUDGET, []
        walked: list = []
        starts = postings.starts
        for _, term, factor, i in known:                  # rarest first
            start, end = starts[i], starts[i + 1]
            if end - start > budget and (scores or walked):
                rest.append((term, factor))
                continue
            budget -= end - start
            walked.append((start, end, factor))
        home = municipality or self._named_home(query_features(query_text) if query_text else sorted(terms))
        if len(self.ids) >= DENSE_FROM:
            views = memoryview(postings.positions), memoryview(postings.weights)
            placed = self._dense_scores(scores, [(views[0][start:end], views[1][start:end], factor)
                                                 for start, end, factor in walked], home)
        else:
            placed = self._summed_scores(scores, walked, home)
        if not rest:
            return placed
        best = heapq.nlargest(CANDIDATES, placed, key=placed.__getitem__)
        for term, factor in rest:
            for position in best:
                placed[position] += factor * self._weight(term, position) * self._place_factor(position, home)
        return {p: placed[p] for p in best}

    def _summed_scores(self, bonuses: dict[int, float], walked: list, home: str | None) -> dict[int, float]:
        """Each entry's bonus plus its postings' weight x factor, times its place factor, in the
        order entries were first met: the sums a loop over the postings makes, exactly (bincount
        adds each entry's values in the order given, in doubles, from the bonus on), without a
        Python step per posting (a message walks some 1,600)."""
        if not walked:
            return {p: s * self._place_factor(p, home) for p, s in bonuses.items()}
        import numpy as np  # loaded with the classifier already
        starts, ends, factors = (np.array(column) for column in zip(*walked))
        lengths = ends - starts
        ranges = np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        postings = self.postings
        positions = np.frombuffer(postings.positions, dtype=np.int32)[ranges]
        products = np.frombuffer(postings.weights, dtype=np.float32)[ranges].astype(np.float64)
        products *= np.repeat(factors.astype(np.float64), lengths)
        met = np.concatenate([np.fromiter(bonuses, dtype=np.int32, count=len(bonuses)), positions])
        values = np.concatenate([np.fromiter(bonuses.values(), dtype=np.float64, count=len(bonuses)), products])
        totals = np.bincount(met, values, minlength=len(self.ids)).tolist()
        return {p: totals[p] * self._place_factor(p, home) for p in dict.fromkeys(met.tolist())}

    def _dense_scores(self, bonuses: dict[int, float], walked: list, home: str | None) -> dict[int, float]:
        """The best CANDIDATES entries by score x place factor, summed with numpy (large indexes)."""
        import numpy as np
        positions = [np.fromiter(bonuses.keys(), dtype=np.int32, count=len(bonuses))]
        weights = [np.fromiter(bonuses.values(), dtype=np.float64, count=len(bonuses))]
        for where, how_much, factor in walked:
            positions.append(np.frombuffer(where, dtype=np.int32))
            weights.append(np.frombuffer(how_much, dtype=np.float32).astype(np.float64) * factor)
        totals = np.bincount(np.concatenate(positions), np.concatenate(weights), minlength=len(self.ids))
        touched = np.flatnonzero(totals)
        placed = totals[touched] * self._place_factor_array(home)[touched]
        if len(touched) > CANDIDATES:
            keep = np.argpartition(-placed, CANDIDATES)[:CANDIDATES]
            touched, placed = touched[keep], placed[keep]
        return dict(zip(touched.tolist(), placed.tolist()))

    def _place_factor_array(self, home: str | None):
        """`_place_factor` of every position for one home, computed once per home."""
        cache = self.__dict__.setdefault("_place_factor_arrays", {})
        factors = cache.get(home)
        if factors is None:
            import numpy as np
            if len(cache) > 64:
                cache.clear()
            factors = np.array([self._place_factor(p, home) for p in range(len(self.ids))], dtype=np.float64)
            cache[home] = factors
        return factors

    def __getstate__(self):
        return {key: value for key, value in self.__dict__.items() if key != "_place_factor_arrays"}

    def _add_phrases(self, scores, text: str) -> None:
        """A whole keyword in the question ("出生届", "jido teate") is strong evidence for its entries."""
        text = f" {normalise(text)} "
        for start in range(1, len(text) - 1):
            for phrase, where, bonus in self.phrases.get(text[start:start + 2], ()):
                if text.startswith(phrase, start) and _bounded(text, start, len(phrase)):
                    for position in where:
                        scores[position] += bonus

    def _weight(self, term: str, position: int) -> float:
        return self.postings.weight(term, position)

    def _coverage(self, terms: set[str], position: int,
                  ids: list[tuple[str, int | None]] | None = None) -> tuple[float, float]:
        """(idf of the features the entry has, that as a share of all the question's features)."""
        postings, max_idf = self.postings, self.max_idf
        idf_of, starts = postings.idf, postings.starts
        positions, weights = postings.positions, postings.weights
        total = matched = 0.0
        for _, i in self._ids_of(terms) if ids is None else ids:   # `Postings.weight` inline: per feature
            if i is None:
                total += max_idf
                continue
            idf = idf_of[i]
            total += idf
            start, end = starts[i], starts[i + 1]
            at = bisect_left(positions, position, start, end)
            if at < end and positions[at] == position and weights[at]:
                matched += idf
        return matched, (matched / total if total else 0.0)

    def _place_factor(self, position: int, home: str | None) -> float:
        place = self.municipalities[position]
        if place is None:
            return 1.0
        if home is None:
            return UNKNOWN_FACTOR
        if place == home or self.areas.get(home) == place:
            return HOME_FACTOR                   # the user's city, or the prefecture it is in
        if self.areas.get(place) == home:
            return UNKNOWN_FACTOR                # "I live in Tokyo": any Tokyo ward may be theirs
        return AWAY_FACTOR


@dataclass(frozen=True)
class _EntryFeatures:
    """One entry's part of the postings; features are ids in _VOCABULARY (not the postings' ids)."""
    terms: Any                               # numpy int32: vocabulary id per feature, in first-seen order
    frequencies: Any                         # numpy float32: field-weighted count of each
    length: float                            # sum of the counts (BM25's document length)
    phrases: tuple[str, ...]                 # normalised keywords, for the phrase bonus
    marks: tuple[tuple[str, Any], ...]       # (locale, numpy int32 vocabulary ids its texts contain)


@dataclass
class _Build:
    """What the last SearchEngine.build made, for the next one to reuse (hot reload)."""
    ids: list[str]
    documents: list[tuple]                   # per position, everything indexed for the entry
    features: dict[tuple, _EntryFeatures]    # documents → their features
    postings: Postings
    locale_bits: dict[str, int]
    phrases: dict[str, list]
    settings: tuple                          # _settings() it was built with


def _settings() -> tuple:
    """Everything besides the texts that a build's result depends on."""
    return (K1, B, KEYWORD_BONUS, tuple(FIELD_WEIGHTS.items()), tuple(NGRAMS.items()), tuple(sorted(PADDED)))


# Every feature seen by recent builds → a stable id, so an entry's features can be kept as arrays
# between builds. Builds run one at a time (the vocabulary is shared).
_VOCABULARY: dict[str, int] = {}
_LAST_BUILD: dict[str, _Build] = {}
_BUILD_LOCK = threading.Lock()
# Above this many entries (city scale) an index is built in one streaming pass, which keeps less
# in memory at its peak, and nothing is kept between builds.
REUSE_MAX_ENTRIES = 2000


def forget_previous_builds() -> None:
    """The next build extracts every entry's features again (tests compare it with a reload)."""
    with _BUILD_LOCK:
        _forget()


def _forget() -> None:
    _VOCABULARY.clear()
    _LAST_BUILD.clear()


def _entry_features(documents: tuple, feature_ids: _FeatureIds) -> _EntryFeatures:
    """The weighted feature counts, keyword phrases and per-locale features of one entry's documents."""
    import numpy as np  # only builds need it; loading a cached index does not
    by_field: dict[str, list[int]] = defaultdict(list)
    entry_phrases: list[str] = []
    marks: dict[str, set[int]] = {}
    for locale, field, text in documents:
        if field in ("keywords", "shared"):
            entry_phrases.append(normalise(text).strip())
        terms = feature_ids(text, field)
        by_field[field].extend(terms)
        if locale:
            marks.setdefault(locale, set()).update(terms)
    counts = _weighted_counts(by_field)
    return _EntryFeatures(
        terms=np.fromiter(counts, dtype=np.int32, count=len(counts)),
        frequencies=np.fromiter(counts.values(), dtype=np.float32, count=len(counts)),
        length=sum(counts.values()), phrases=tuple(entry_phrases),
        marks=tuple((locale, np.fromiter(found, dtype=np.int32, count=len(found))) for locale, found in marks.items()))


def _weighted_counts(by_field: dict[str, list[int]]) -> dict[int, float]:
    """Each feature's count in one entry, weighted by the field it was found in."""
    counts: dict[int, float] = {}
    for field, field_terms in by_field.items():   # Counter counts in C: builds stay fast
        weight = FIELD_WEIGHTS[field]
        tallied = Counter(field_terms)
        if not counts:                            # the first field: 0.0 + weight * times, exactly
            counts = {term: weight * times for term, times in tallied.items()}
            continue
        get = counts.get
        for term, times in tallied.items():
            counts[term] = get(term, 0.0) + weight * times
    return counts


class _FeatureIds:
    """Each text's distinct features as ids in one vocabulary (feature -> id, numbered as first
    seen). Only ids are kept, so every feature string is held once, by the vocabulary: a cache of
    the feature strings themselves (a frozenset per text) was most of a build's peak memory."""

    CACHED_FIELDS = frozenset({"shared", "keywords", "title", "label"})   # short, and they recur
    CACHE_SIZE = 16384

    def __init__(self, vocabulary: dict[str, int]):
        self.vocabulary = vocabulary
        self._cache: dict[str, tuple[int, ...]] = {}

    def __call__(self, text: str, field: str) -> tuple[int, ...]:
        found = self._cache.get(text)
        if found is None:
            found = self._ids(frozenset(features(text)))     # a text counts each feature once
            if field in self.CACHED_FIELDS:
                if len(self._cache) >= self.CACHE_SIZE:
                    self._cache.clear()
                self._cache[text] = found
        return found

    def _ids(self, terms: frozenset[str]) -> tuple[int, ...]:
        """Ids of the features, new ones numbered in the order they come (most are known already)."""
        vocabulary = self.vocabulary
        ordered = list(terms)
        found = tuple(map(vocabulary.get, ordered))
        if None not in found:
            return cast("tuple[int, ...]", found)
        for term in [term for term, known in zip(ordered, found) if known is None]:
            vocabulary[term] = len(vocabulary)
        return tuple(map(vocabulary.__getitem__, ordered))


def _phrase_table(phrases: dict[str, set[int]], count: int) -> dict[str, list]:
    table: dict[str, list] = defaultdict(list)
    for phrase, where in phrases.items():
        if len(phrase) >= 2 and len(where) <= count / 4:
            bonus = KEYWORD_BONUS * math.log(1 + (count - len(where) + 0.5) / (len(where) + 0.5))
            table[phrase[:2]].append((phrase, tuple(sorted(where)), bonus))
    return dict(table)


def _bounded(text: str, start: int, length: int) -> bool:
    """Latin keywords match whole words only ("ko" is not in "kodomo"); other scripts anywhere."""
    before, after, first, last = text[start - 1], text[start + length], text[start], text[start + length - 1]
    return not ((_is_latin(first) and before.isalnum()) or (_is_latin(last) and after.isalnum()))


class Postings:
    """Every feature's postings in flat arrays: feature id → starts[id]:starts[id + 1] of
    `positions` (ascending) and `weights` (BM25, idf included); `idf` and `locales` (a bit per
    locale whose texts contain the feature) per feature id."""

    def __init__(self, ids: dict[str, int], starts: array, positions: array, weights: array, idf: array,
                 locales: array):
        self.ids, self.starts, self.positions, self.weights = ids, starts, positions, weights
        self.idf, self.locales = idf, locales

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, term: str) -> bool:
        return term in self.ids

    def idf_of(self, term: str) -> float | None:
        i = self.ids.get(term)
        return None if i is None else self.idf[i]

    def of(self, term: str) -> tuple[memoryview, memoryview]:
        i = self.ids[term]
        start, end = self.starts[i], self.starts[i + 1]
        return memoryview(self.positions)[start:end], memoryview(self.weights)[start:end]

    def weight(self, term: str, position: int) -> float:
        i = self.ids.get(term)
        if i is None:
            return 0.0
        start, end = self.starts[i], self.starts[i + 1]
        at = bisect_left(self.positions, position, start, end)
        return self.weights[at] if at < end and self.positions[at] == position else 0.0


def _postings(entries: list[_EntryFeatures], vocabulary: dict[str, int]) -> tuple[Postings, dict[str, int]]:
    """The postings of entries at positions 0, 1, 2... and each locale's bit: one sort by feature,
    so time and memory grow linearly with the postings. Feature ids are numbered in order of
    first appearance, as a build one entry at a time would."""
    import numpy as np  # only builds need it; loading a cached index does not
    empty_ids, empty_floats = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    seen = np.concatenate([e.terms for e in entries]) if entries else empty_ids
    first_seen_ids, first_at = np.unique(seen, return_index=True)
    used = first_seen_ids[np.argsort(first_at, kind="stable")]      # vocabulary ids, first seen first
    renumber = np.zeros(len(vocabulary), dtype=np.int32)
    renumber[used] = np.arange(len(used), dtype=np.int32)
    terms = renumber[seen]
    del seen
    words = list(vocabulary)                                          # vocabulary id → feature
    ids = dict(zip(map(words.__getitem__, used.tolist()), range(len(used))))
    del words
    # a bit per locale whose texts contain the feature
    locale_bits: dict[str, int] = {}
    marked = np.zeros(len(vocabulary), dtype=np.int32)
    for locale in sorted({locale for e in entries for locale, _ in e.marks}):
        bit = locale_bits[locale] = 1 << len(locale_bits)
        for e in entries:
            for mark_locale, where in e.marks:
                if mark_locale == locale:
                    marked[where] |= bit
    locales = _array("i", marked[used])
    del marked, renumber
    frequencies = np.concatenate([e.frequencies for e in entries]) if entries else empty_floats
    sizes = np.fromiter((len(e.terms) for e in entries), dtype=np.int32, count=len(entries))
    return _scored(np, ids, terms, frequencies, sizes, [e.length for e in entries], locales), locale_bits


def _scored(np, ids: dict[str, int], terms, frequencies, sizes, lengths: list[float], locales: array) -> Postings:
    """Postings from each entry's features (feature ids ``terms`` and their weighted counts, entry
    after entry, ``sizes`` per entry): grouped by feature, counts turned into BM25 weights.
    Written straight into the arrays the engine keeps, a block of postings at a time, so the
    build needs no temporary array the size of all the postings (a sort order of 8 million
    postings alone was 66 MB, and each result was copied once more)."""
    documents = np.bincount(terms, minlength=len(ids))
    starts = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(documents, out=starts[1:])
    count = max(len(lengths), 1)
    average = (sum(lengths) / count) or 1.0
    norms = np.array([K1 * (1 - B + B * length / average) for length in lengths], dtype=np.float64)
    # idf with math.log, as before: the shipped index scores exactly as it always did
    idf = array("d", (math.log(1 + (count - n + 0.5) / (n + 0.5)) for n in documents.tolist()))
    del documents
    positions, weights = array("i", [0]) * len(terms), array("f", [0.0]) * len(terms)   # no temporary
    _place(np, terms, frequencies, np.cumsum(sizes), starts, np.frombuffer(idf, dtype=np.float64), norms,
           np.frombuffer(positions, dtype=np.int32), np.frombuffer(weights, dtype=np.float32))
    return Postings(ids, _array("q", starts), positions, weights, idf, locales)


def _place(np, terms, frequencies, ends, starts, idf, norms, positions, weights, block: int = 1 << 18) -> None:
    """Each posting's entry and BM25 weight into its feature's slice of ``positions`` and
    ``weights``. Postings arrive entry after entry, and each block is sorted by feature stably
    and put after the feature's postings of earlier blocks: positions stay ascending per feature."""
    filled = starts[:-1].copy()                        # next free slot of each feature
    for first in range(0, len(terms), block):
        chunk = terms[first:first + block]
        order = np.argsort(chunk, kind="stable")
        grouped = chunk[order]
        per_feature = np.bincount(chunk, minlength=len(filled))
        # slot = the feature's next free slot + how many of this block's postings of it came before
        slots = filled[grouped] + (np.arange(len(grouped)) - (np.cumsum(per_feature) - per_feature)[grouped])
        filled += per_feature
        order += first                                 # posting number in the whole collection
        entry = np.searchsorted(ends, order, side="right")
        positions[slots] = entry
        tf = frequencies[order].astype(np.float64)
        weights[slots] = idf[grouped] * tf * (K1 + 1) / (tf + norms[entry])


def _streamed(index, ids: list[str]) -> tuple[Postings, dict[str, int], dict[str, list]]:
    """Postings of a large index, one entry at a time into flat arrays (the lowest peak memory).
    An entry's texts are read field by field, as its weighted counts add them up, so feature ids
    are numbered in order of first appearance there (as the per-entry build numbers them)."""
    builder = _PostingsBuilder()
    feature_ids = _FeatureIds(builder.ids)
    phrases: dict[str, set[int]] = defaultdict(set)
    for position, entry_id in enumerate(ids):
        by_field: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
        for locale, field, text in _documents(index, entry_id):
            by_field[field].append((locale, text))
        terms_by_field: dict[str, list[int]] = {}
        for field, texts in by_field.items():
            field_terms = terms_by_field[field] = []
            for locale, text in texts:
                if field in ("keywords", "shared"):
                    phrases[normalise(text).strip()].add(position)
                terms = feature_ids(text, field)
                field_terms.extend(terms)
                if locale:
                    builder.mark(terms, locale)
        builder.add(_weighted_counts(terms_by_field))
    del feature_ids
    return builder.finish(), builder.locale_bits, _phrase_table(phrases, len(ids))


class _PostingsBuilder:
    """Collects (feature id, frequency) pairs in flat arrays, one entry at a time (positions are
    implied by the order); finish() groups them by feature: time and memory grow linearly."""

    def __init__(self):
        self.ids: dict[str, int] = {}               # feature -> id, filled by the caller's _FeatureIds
        self.locale_bits: dict[str, int] = {}
        self._locale_terms: dict[str, set[int]] = defaultdict(set)
        self._terms, self._frequencies = array("i"), array("f")
        self._sizes = array("i")                 # postings per entry: positions are implied by the order
        self._lengths: list[float] = []

    def mark(self, terms, locale: str) -> None:
        self._locale_terms[locale].update(terms)          # set.update runs in C; bits come at the end

    def add(self, counts: dict[int, float]) -> None:
        """The next entry's weighted counts (entries arrive in position order, 0, 1, 2...)."""
        self._lengths.append(sum(counts.values()))
        self._terms.extend(counts)
        self._sizes.append(len(counts))
        self._frequencies.extend(counts.values())

    def finish(self) -> Postings:
        import numpy as np  # only builds need it; loading a cached index does not
        sizes = np.frombuffer(self._sizes, dtype=np.int32) if len(self._sizes) else np.zeros(0, dtype=np.int32)
        locales = self._locale_masks()
        terms, frequencies = self._hand_over("_terms"), self._hand_over("_frequencies")
        return _scored(np, self.ids, np.frombuffer(terms, dtype=np.int32),
                       np.frombuffer(frequencies, dtype=np.float32), sizes, self._lengths, locales)

    def _hand_over(self, name: str) -> array:
        """A collected array, the builder keeping an empty one of the same type in its place."""
        collected = getattr(self, name)
        setattr(self, name, array(collected.typecode))
        return collected

    def _locale_masks(self) -> array:
        masks = array("i", [0]) * len(self.ids)
        for locale, terms in sorted(self._locale_terms.items()):
            bit = self.locale_bits[locale] = 1 << len(self.locale_bits)
            for term in terms:
                masks[term] |= bit
        self._locale_terms.clear()
        return masks


def _array(typecode: str, values) -> array:
    result = array(typecode)
    result.frombytes(memoryview(values).cast("B"))     # one copy, straight from numpy's buffer
    return result


def _documents(index, entry_id: str):
    """(locale or None, field, text) for everything indexed for one entry."""
    for keyword in index.entries[entry_id].keywords:
        yield None, "shared", keyword
    for locale, texts in index.texts.items():
        text = texts.get(entry_id)
        if text is None:
            continue
        yield locale, "title", text.title
        if text.label:
            yield locale, "label", text.label
        for keyword in text.keywords:
            yield locale, "keywords", keyword
        for example in text.examples:
            yield locale, "examples", example
        yield locale, "answer", text.answer


_RANK = {"none": 0, "suggest": 1, "answer": 2}
