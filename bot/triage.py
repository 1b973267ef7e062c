"""Safety triage: is this message an emergency, a crisis, or a case for a person?

Pure logic: the only I/O is reading the admin-edited rules in ``flows/triage/``:

- ``rules.yaml``: the rules (id, level, category, topic, resource ids, ``when``) and the
  *signals* they combine ("child", "pregnant", "bleeding", ...).
- ``<locale>.yaml`` (17 locales) and ``romaji.yaml``: per signal, the ``terms``, ``patterns``
  (regular expressions) and ``negations`` that recognise it in that language.

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
with the right number and an offer of a person, and opens no case. Only advisor and guide rules
may have ``unless`` (e.g. "unless the message is a calm question"): an emergency or a crisis is
never lowered by any word.
A negation ("no bleeding", "出血はない", or a cue with ``~`` for the term: "no ~") hides the
words it covers from that signal only; the same word elsewhere in the message still counts.
A guide for admins is in flows/TRIAGE.md.
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.adminmsg import did_you_mean, msg

LOCALES = ("ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "tl", "ne", "id", "pt-BR", "es",
           "my", "si", "th", "hi", "bn")
EXTRA_TERM_FILES = ("romaji",)          # romanised Japanese: applied like a locale, not required to be complete
RULES_FILE = "rules.yaml"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "flows" / "triage.schema.json"

LEVELS = ("emergency", "crisis", "advisor", "guide")
NEVER_LOWERED = ("emergency", "crisis")      # rules of these levels may not have `unless`
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
CATEGORIES = {
    "emergency": ("child-medical", "pregnancy-medical", "adult-medical", "suicide", "violence"),
    "crisis": ("dv", "child-abuse", "suicidal", "deportation", "exploitation", "poverty"),
    "advisor": ("medical-symptoms", "legal-dispute", "labour-dispute", "person-request"),
    "guide": ("child-health-question", "adult-health-question", "ambulance-question", "pet-health",
              "vaccination-question"),
}


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


class TriageRulesError(Exception):
    """The rules cannot be used; ``problems`` lists each as "path:line: what is wrong and how to fix it"."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("triage rules have problems:\n" + "\n".join(self.problems))


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
        if not self.present(text, plain):
            return False          # negations only hide words: nothing to hide, nothing to find
        spans = _spans(self.negations_accented, text) + _spans(self.negations_plain, plain)
        for pattern in self.negation_patterns:
            spans += _spans(pattern, plain)
        if spans:
            text, plain = _mask(text, spans), _mask(plain, spans)
        if self.accented is not None and self.accented.search(text):
            return True
        if self.plain is not None and self.plain.search(plain):
            return True
        return any(p.search(plain) for p in self.patterns)


    def present(self, text: str, plain: str) -> bool:
        """Whether any term occurs at all, negated or not: a cheap test that settles most messages."""
        return bool((self.accented is not None and self.accented.search(text))
                    or (self.plain is not None and self.plain.search(plain))
                    or any(p.search(plain) for p in self.patterns))


def _spans(regex: re.Pattern | None, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in regex.finditer(text)] if regex is not None else []


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "\x00" * (end - start)
    return "".join(chars)


@dataclass(frozen=True)
class TriageRules:
    rules: tuple[Rule, ...]                 # in file order
    signals: dict[str, Signal]


# ---------------------------------------------------------------------------------------------
# Triage


_last_triaged: tuple | None = None        # (text, rules, result) of the latest call


def triage(text: str, rules: TriageRules) -> TriageResult:
    """Classify one message. Never raises on any text."""
    if not text or not text.strip():
        return NO_MATCH
    # The safety check and the answer's routing both triage a turn's message: once is enough
    # (the result is immutable; keyed by the very rules object, so a reload starts afresh).
    global _last_triaged
    last = _last_triaged
    if last is not None and last[0] == text and last[1] is rules:
        return last[2]
    result = _triage(text, rules)
    _last_triaged = (text, rules, result)
    return result


def _triage(text: str, rules: TriageRules) -> TriageResult:
    canon = canonical_text(text)
    plain = strip_accents(canon)
    seen: dict[str, bool] = {}

    def hit(signal_id: str) -> bool:
        if signal_id not in seen:
            signal = rules.signals.get(signal_id)
            seen[signal_id] = bool(signal and signal.matches(canon, plain))
        return seen[signal_id]

    matched = [rule for rule in rules.rules
               if all(any(hit(s) for s in line) for line in rule.when) and not any(hit(s) for s in rule.unless)]
    if not matched:
        return NO_MATCH
    matched.sort(key=lambda rule: LEVEL_RANK[rule.level])        # stable: file order within a level
    top = matched[0]
    resource_ids: list[str] = []
    for rule in matched:
        resource_ids += [rid for rid in rule.resource_ids if rid not in resource_ids]
    return TriageResult(level=top.level, category=top.category, topic=top.topic,
                        resource_ids=tuple(resource_ids), matched=tuple(rule.id for rule in matched))


# ---------------------------------------------------------------------------------------------
# Canonical text: the one form that both messages and terms are compared in

_LATIN_EXTRA = {"đ": "d", "ð": "d", "ł": "l", "ø": "o", "ħ": "h", "ı": "i", "ŀ": "l"}
_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_SPACES = re.compile(r"\s+")
_strip_cache: dict[str, str] = {}


def _is_latin_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _base_letter(ch: str) -> str:
    """The letter without its accents ("ệ" -> "e", "đ" -> "d"); other characters unchanged."""
    cached = _strip_cache.get(ch)
    if cached is None:
        cached = _LATIN_EXTRA.get(ch, ch)
        decomposed = unicodedata.normalize("NFD", ch)
        if (len(decomposed) > 1 and _is_latin_letter(decomposed[0])
                and all(unicodedata.combining(c) for c in decomposed[1:])):
            cached = decomposed[0]
        _strip_cache[ch] = cached
    return cached


def _kana_to_hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if 0x30A1 <= ord(c) <= 0x30F6 else c for c in text)


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


def canonical_text(text: str) -> str:
    """NFKC, casefold, one kind of apostrophe, no zero-width characters, katakana as hiragana,
    single spaces, and no spaces inside runs of CJK / Hangul / Thai / Myanmar text."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES).translate(_INVISIBLE).translate(_INDIC)
    text = _SPACES.sub(" ", _kana_to_hiragana(text)).strip()
    return _SPACE_IN_RUN.sub("", text)


def strip_accents(text: str) -> str:
    """Latin letters without accents, character for character (same length as ``text``)."""
    return "".join(_base_letter(c) for c in text)


# ---------------------------------------------------------------------------------------------
# Terms -> regular expressions

# Word edges for Latin and Indic terms: a term must not start or end inside a Latin, Greek,
# Cyrillic or Indic word (vowel signs included). CJK next to a Latin term is not a word edge
# problem ("dv相談" contains "dv").
_MARK = r"0-9a-z\u00c0-\u024f\u0300-\u036f\u0370-\u052f\u0900-\u0dff\u1e00-\u1eff"
_LEFT_EDGE = rf"(?<![{_MARK}])"
_RIGHT_EDGE = rf"(?![{_MARK}])"


def _script(ch: str) -> str:
    """'word' = Latin, Greek, Cyrillic and digits (whole words); 'indic' = Devanagari ... Sinhala
    (suffixes are glued on: match the start of a word); 'run' = everything else (CJK, kana, Hangul,
    Thai, Myanmar): matched anywhere."""
    code = ord(ch)
    if ch.isdigit() or _is_latin_letter(ch) or 0xC0 <= code < 0x250 or 0x1E00 <= code < 0x1F00 \
            or 0x370 <= code < 0x530:
        return "word"
    if 0x900 <= code < 0xE00:
        return "indic"
    return "run"


def _letters(term: str) -> list[str]:
    return [c for c in term if c.isalnum() or unicodedata.category(c).startswith("M")]


def canonical_term(term: str) -> str:
    return canonical_text(term)


def has_accents(term: str) -> bool:
    return any(_base_letter(c) != c for c in canonical_term(term))


@functools.lru_cache(maxsize=None)
def term_regex(term: str, plain: bool | None = None) -> str | None:
    """The regular expression for one admin term (``*`` = any letters; see the module docstring).

    A term with accented Latin letters is matched on the canonical text, each accented letter
    also matching its base letter (people type without accents); any other term, or any term with
    ``plain=True``, is matched on the text without accents."""
    canon = canonical_term(term)
    if plain is None:
        plain = not has_accents(canon)
    if plain:
        canon = strip_accents(canon)
    letters = _letters(canon)
    if not letters:
        return None
    parts: list[str] = []
    for index, ch in enumerate(canon):
        if ch == " ":                                   # the message has single spaces only;
            between_words = (_script(canon[index - 1]) == _script(canon[index + 1]) == "word"
                             if 0 < index < len(canon) - 1 else False)
            parts.append(" " if between_words else " ?")  # "bị đá" must not match "bida"
        elif ch == "*":
            parts.append(r"\w*" if _script(letters[0]) == "word" else r"[^\s.,!?。、！？]{0,10}?")
        elif ch == "'":
            parts.append("'?")
        elif ch == "-":
            parts.append("[ -]?")
        else:
            base = _base_letter(ch)
            parts.append(f"[{ch}{base}]" if base != ch else re.escape(ch))
    first, last = _script(letters[0]), _script(letters[-1])
    left = _LEFT_EDGE if first in ("word", "indic") else ""
    right = _RIGHT_EDGE if last == "word" and not canon.endswith("*") else ""
    return left + "".join(parts) + right


def _alternation(fragments: list[str]) -> re.Pattern | None:
    """One regex for many terms. Terms that share the same word edges are grouped, so each edge
    check is written once (compiling thousands of edge classes is slow)."""
    groups: dict[tuple[bool, bool], set[str]] = {}
    for fragment in fragments:
        left = fragment.startswith(_LEFT_EDGE)
        right = fragment.endswith(_RIGHT_EDGE)
        body = fragment[len(_LEFT_EDGE) if left else 0: len(fragment) - len(_RIGHT_EDGE) if right else None]
        groups.setdefault((left, right), set()).add(body)
    if not groups:
        return None
    alternatives = []
    for (left, right), bodies in sorted(groups.items()):
        inner = "|".join(sorted(bodies, key=lambda f: (-len(f), f)))
        alternatives.append(f"{_LEFT_EDGE if left else ''}(?:{inner}){_RIGHT_EDGE if right else ''}")
    return re.compile("|".join(alternatives))        # text and terms are both casefolded


def pattern_regex(pattern: str) -> re.Pattern:
    """An admin regular expression, in the canonical form (no casefold: it would change escapes)."""
    text = _kana_to_hiragana(unicodedata.normalize("NFKC", pattern))
    return re.compile(strip_accents(text), re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Loading YAML with line numbers


class _Source:
    """One YAML file: data, the line of every path in it, and problems found."""

    def __init__(self, path: Path, display: str):
        self.path, self.display = path, display
        self.data = None
        self.lines: dict[tuple, int] = {}
        self.problems: list[str] = []

    def line(self, path: tuple) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: tuple | int, message: str) -> None:
        line = path if isinstance(path, int) else self.line(path)
        self.problems.append(f"{self.display}:{line}: {message}")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> _Source:
    source = _Source(path, _display(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        source.problem(1, "not UTF-8 text; save the file with UTF-8 encoding")
        return source
    except OSError as exc:
        source.problem(1, f"cannot read the file ({exc.strerror})")
        return source
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)      # same marks, much faster
    try:
        node = loader.get_single_node()
        source.data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        source.problem(mark.line + 1 if mark else 1,
                       msg("triage.yaml_structure", problem=exc.problem or exc.context))
        return source
    except yaml.YAMLError as exc:
        source.problem(1, f"YAML error: {exc}")
        return source
    finally:
        loader.dispose()
    if node is not None:
        _record_lines(node, (), source)
    return source


def _record_lines(node, path: tuple, source: _Source) -> None:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first_line: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in first_line:
                source.problem(line, f"'{key}' appears twice (first on line {first_line[key]}); "
                                     f"merge the two into one")
            first_line.setdefault(key, line)
            source.lines[path + (key,)] = line
            _record_lines(value_node, path + (key,), source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            source.lines[path + (index,)] = item.start_mark.line + 1
            _record_lines(item, path + (index,), source)


# ---------------------------------------------------------------------------------------------
# Schema validation

_HINTS = {
    "type": "(text that YAML reads as a number, yes/no or on/off must be in quotes)",
    "additionalProperties": "(check the spelling of the key)",
    "enum": "",
    "pattern": "(ids use lower-case letters, digits and '-')",
    "required": "",
    "minItems": "(the list must not be empty)",
    "minLength": "(empty text is not allowed)",
}


def _schema_problems(source: _Source) -> None:
    try:
        import jsonschema
    except ImportError:                                # schema check is an extra safety net
        return
    try:
        schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        source.problems.append(f"{_display(SCHEMA_FILE)}:1: cannot read the triage schema ({exc})")
        return
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(source.data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            path = path + tuple(extra[:1])                     # point at the misspelt key itself
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        hint = _HINTS.get(error.validator, "")
        source.problem(path, f"{where}: {error.message} {hint}".rstrip())


# ---------------------------------------------------------------------------------------------
# Loading rules


@dataclass
class _Draft:
    rules: list[Rule] = field(default_factory=list)
    rule_lines: dict[str, int] = field(default_factory=dict)
    signal_ids: set[str] = field(default_factory=set)
    declared_signals: list[tuple[str, int]] = field(default_factory=list)
    resource_lines: list[tuple[str, int, str]] = field(default_factory=list)
    fragments: dict[tuple[str, bool], list[str]] = field(default_factory=dict)    # (signal, accented)
    patterns: dict[str, list[re.Pattern]] = field(default_factory=dict)
    negations: dict[tuple[str, bool], list[str]] = field(default_factory=dict)
    negation_patterns: dict[str, list[re.Pattern]] = field(default_factory=dict)
    coverage: dict[str, set[str]] = field(default_factory=dict)
    locale_lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_triage_rules(directory: Path) -> TriageRules:
    """Read and compile the rules; raise TriageRulesError listing every problem found."""
    rules, problems, _ = _load(Path(directory))
    if problems:
        raise TriageRulesError(problems)
    return rules


def check_triage_rules(directory: Path, known_resource_ids: set[str]) -> list[str]:
    """Every problem in the rules, including unknown resource ids and locales missing a signal.
    Files that parse are checked even when another file has a syntax error."""
    directory = Path(directory)
    _, problems, draft = _load(directory)
    known = set(known_resource_ids)
    for rid, line, where in draft.resource_lines:
        if rid not in known:
            hint = did_you_mean(rid, sorted(known)) or msg("triage.use_resource_id")
            problems.append(msg("triage.unknown_resource", where=where, line=line, id=rid, hint=hint))
    used = {s for rule in draft.rules for line in rule.when + (rule.unless,) for s in line}
    for signal_id, line in draft.declared_signals:
        if signal_id not in used:
            problems.append(msg("triage.unused_signal", where=_display(directory / RULES_FILE), line=line,
                                signal=signal_id))
    if draft.rules:
        for locale in LOCALES:
            if locale not in draft.locale_lines:
                continue
            where, line = draft.locale_lines[locale]
            missing = sorted(used - draft.coverage.get(locale, set()))
            if missing:
                problems.append(msg("triage.no_terms", where=where, line=line, signals=", ".join(missing)))
    return problems


def _load(directory: Path) -> tuple[TriageRules | None, list[str], "_Draft"]:
    draft = _Draft()
    rules_path = directory / RULES_FILE
    if not rules_path.exists():
        return None, [f"{_display(rules_path)}:1: missing: the triage rules file must exist"], draft
    _load_rules_file(_read_yaml(rules_path), draft)
    present = set()
    for path in sorted(directory.glob("*.yaml")):
        if path.name == RULES_FILE:
            continue
        name = path.stem
        if name not in LOCALES and name not in EXTRA_TERM_FILES:
            draft.problems.append(f"{_display(path)}:1: '{name}' is not a locale; name the file after one of "
                                  f"{', '.join(LOCALES + EXTRA_TERM_FILES)} (.yaml)")
            continue
        present.add(name)
        _load_locale_file(_read_yaml(path), name, draft)
    for locale in LOCALES:
        if locale not in present:
            draft.problems.append(f"{_display(directory / (locale + '.yaml'))}:1: missing: every locale needs "
                                  f"a triage file; copy en.yaml and translate the terms")
    if draft.problems:
        return None, list(draft.problems), draft
    signals = {}
    for signal_id in draft.signal_ids:
        signals[signal_id] = Signal(
            id=signal_id,
            accented=_alternation(draft.fragments.get((signal_id, True), [])),
            plain=_alternation(draft.fragments.get((signal_id, False), [])),
            patterns=tuple(draft.patterns.get(signal_id, [])),
            negations_accented=_alternation(draft.negations.get((signal_id, True), [])),
            negations_plain=_alternation(draft.negations.get((signal_id, False), [])),
            negation_patterns=tuple(draft.negation_patterns.get(signal_id, [])))
    return TriageRules(rules=tuple(draft.rules), signals=signals), [], draft


def _load_rules_file(source: _Source, draft: _Draft) -> None:
    if source.data is not None and not source.problems:
        _schema_problems(source)
    if source.problems or not isinstance(source.data, dict):
        draft.problems += source.problems or [f"{source.display}:1: the file is empty; it needs 'signals:' "
                                              f"and 'rules:'"]
        return
    for index, item in enumerate(source.data.get("signals") or []):
        sid = item["id"]
        if sid in draft.signal_ids:
            source.problem(("signals", index), f"signal '{sid}' is declared twice; keep one")
        draft.signal_ids.add(sid)
        draft.declared_signals.append((sid, source.line(("signals", index))))
    own_signal_rules = {item["id"] for item in source.data["rules"] if not item.get("when")}
    for index, item in enumerate(source.data["rules"]):
        where = ("rules", index)
        rid = item["id"]
        if rid in draft.rule_lines:
            source.problem(where, f"rule '{rid}' is defined twice (first on line {draft.rule_lines[rid]}); "
                                  f"give each rule its own id")
        draft.rule_lines.setdefault(rid, source.line(where))
        if rid in draft.signal_ids and not item.get("when"):
            source.problem(where, f"rule '{rid}' has no 'when' but '{rid}' is also a signal; add "
                                  f"'when: [{rid}]' or rename the rule")
        level, category = item["level"], item["category"]
        if category not in CATEGORIES[level]:
            source.problem(where + ("category",), f"category '{category}' does not belong to level '{level}'; "
                                                  f"use one of {', '.join(CATEGORIES[level])}")
        when = item.get("when")
        if when:
            lines = tuple((entry,) if isinstance(entry, str) else tuple(entry) for entry in when)
        else:
            lines = ((rid,),)
        for w_index, line in enumerate(lines):
            for sid in line:
                if sid not in draft.signal_ids and sid not in own_signal_rules:
                    hint = did_you_mean(sid, sorted(draft.signal_ids | own_signal_rules)) or msg("triage.declare_signal")
                    source.problem(where + ("when", w_index), msg("triage.rule_unknown_signal", rule=rid, signal=sid,
                                                                  hint=hint))
        unless = tuple(item.get("unless") or ())
        if unless and level in NEVER_LOWERED:
            source.problem(where + ("unless",), f"rule '{rid}' is {level}: an emergency or a crisis is never "
                                                f"lowered, so it cannot have 'unless'; remove it")
        for sid in unless:
            if sid not in draft.signal_ids:
                hint = did_you_mean(sid, sorted(draft.signal_ids)) or msg("triage.declare_signal")
                source.problem(where + ("unless",), msg("triage.rule_unknown_signal", rule=rid, signal=sid, hint=hint))
        for r_index, resource_id in enumerate(item["resource_ids"]):
            draft.resource_lines.append((resource_id, source.line(where + ("resource_ids", r_index)),
                                         source.display))
        draft.rules.append(Rule(id=rid, level=level, category=category, topic=item.get("topic"),
                                resource_ids=tuple(item["resource_ids"]), when=lines, unless=unless))
    draft.signal_ids |= own_signal_rules
    draft.problems += source.problems


def _load_locale_file(source: _Source, name: str, draft: _Draft) -> None:
    if source.data is not None and not source.problems:
        _schema_problems(source)
    if source.problems or not isinstance(source.data, dict):
        draft.problems += source.problems or [f"{source.display}:1: the file is empty; it needs 'locale: {name}' "
                                              f"and 'signals:'"]
        return
    if source.data.get("locale") != name:
        source.problem(("locale",), f"locale is '{source.data.get('locale')}' but the file is {name}.yaml; "
                                    f"make them the same")
    covered: set[str] = set()
    draft.locale_lines[name] = (source.display, source.line(("signals",)))
    for sid, spec in (source.data.get("signals") or {}).items():
        where = ("signals", sid)
        if draft.signal_ids and sid not in draft.signal_ids:
            hint = did_you_mean(sid, sorted(draft.signal_ids)) or msg("triage.use_signal")
            source.problem(where, msg("triage.unknown_signal", signal=sid, hint=hint))
            continue
        spec = spec or {}
        own_terms: list[str] = []
        for index, term in enumerate(spec.get("terms") or []):
            fragment = _checked_term(source, where + ("terms", index), term)
            if fragment:
                own_terms.append(term)
                draft.fragments.setdefault((sid, has_accents(term)), []).append(fragment)
        n_patterns = 0
        for index, pattern in enumerate(spec.get("patterns") or []):
            compiled = _checked_pattern(source, where + ("patterns", index), pattern)
            if compiled is not None:
                draft.patterns.setdefault(sid, []).append(compiled)
                n_patterns += 1
        for index, negation in enumerate(spec.get("negations") or []):
            fragment = _negation_regex(source, where + ("negations", index), negation, own_terms)
            if fragment:
                accented = "~" not in negation and has_accents(negation)
                draft.negations.setdefault((sid, accented), []).append(fragment)
        for index, pattern in enumerate(spec.get("negation_patterns") or []):
            compiled = _checked_pattern(source, where + ("negation_patterns", index), pattern)
            if compiled is not None:
                draft.negation_patterns.setdefault(sid, []).append(compiled)
        if own_terms or n_patterns:
            covered.add(sid)
    draft.coverage[name] = covered
    draft.problems += source.problems


def _checked_term(source: _Source, where: tuple, term: str) -> str | None:
    canon = canonical_term(term)
    letters = _letters(canon)
    if not letters:
        source.problem(where, f"term '{term}' has no letters; remove it")
        return None
    if len(letters) < 2 and _script(letters[0]) != "word":
        source.problem(where, f"term '{term}' is a single character and would match inside other words; "
                              f"write a longer phrase")
        return None
    if "~" in term:
        source.problem(where, f"'~' is only for negations; remove it from term '{term}'")
        return None
    return term_regex(term)


def _checked_pattern(source: _Source, where: tuple, pattern: str) -> re.Pattern | None:
    try:
        compiled = pattern_regex(pattern)
    except re.error as exc:
        source.problem(where, f"pattern '{pattern}' is not a valid regular expression ({exc}); "
                              f"fix it or write it as a plain term instead")
        return None
    if compiled.search(""):
        source.problem(where, f"pattern '{pattern}' matches empty text, so it would match every message")
        return None
    return compiled


def _negation_regex(source: _Source, where: tuple, negation: str, own_terms: list[str]) -> str | None:
    """A negation phrase, or a cue around the term: "no ~" = "no" directly before any term of
    this signal in this file. Cues are compared without accents."""
    if "~" not in negation:
        return _checked_term(source, where, negation)
    if not own_terms:
        source.problem(where, f"negation '{negation}' uses '~' but this signal has no terms in this file")
        return None
    terms = "|".join(f"(?:{term_regex(t, plain=True)})"
                     for t in sorted(own_terms, key=len, reverse=True))
    pieces = []
    for index, piece in enumerate(negation.split("~")):
        if index:
            pieces.append(f"(?:{terms})")
        piece = piece.strip()
        if piece:
            if not _letters(canonical_term(piece)):
                source.problem(where, f"negation '{negation}' needs words around '~'")
                return None
            pieces.append(term_regex(piece, plain=True))
    return " ?".join(pieces)
