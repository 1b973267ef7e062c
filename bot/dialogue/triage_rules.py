"""Safety triage, rules: reading, compiling and checking the admin-edited files in ``flows/triage/``.

- ``rules.yaml``: the rules (id, level, category, topic, resource ids, ``when``) and the
  *signals* they combine ("child", "pregnant", "bleeding", ...).
- ``<locale>.yaml`` (17 locales) and ``romaji.yaml``: per signal, the ``terms``, ``patterns``
  (regular expressions) and ``negations`` that recognise it in that language.

Terms become regular expressions here; bot/dialogue/triage.py matches messages against them. Every
problem is reported as "path:line: what is wrong and how to fix it" (TriageRulesError).
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.content.adminmsg import admin_language, did_you_mean, msg
from bot.dialogue.pattern_keys import pattern_keys
from bot.dialogue.triage import (
    Check,
    Rule,
    Signal,
    TermIndex,
    TriageRules,
    base_letter,
    canonical_text,
    is_latin_letter,
    kana_to_hiragana,
    strip_accents,
    term_key,
)

LOCALES = ("ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "tl", "ne", "id", "pt-BR", "es",
           "my", "si", "th", "hi", "bn")
EXTRA_TERM_FILES = ("romaji",)          # romanised Japanese: applied like a locale, not required to be complete
RULES_FILE = "rules.yaml"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "flows" / "triage.schema.json"

NEVER_LOWERED = ("emergency",)               # rules of this level may not have `unless`
# A crisis rule may give way only to a question about a service ("where can I consult about DV?",
# "what happens if I call 189?"), and only a rule that names the subject without describing it.
CRISIS_UNLESS = ("service-question", "asking", "someone-else")
CATEGORIES = {
    "emergency": ("child-medical", "pregnancy-medical", "adult-medical", "suicide", "violence", "general"),
    "crisis": ("dv", "child-abuse", "suicidal", "deportation", "exploitation", "poverty"),
    "advisor": ("medical-symptoms", "legal-dispute", "labour-dispute", "person-request", "residence-status"),
    "guide": ("child-health-question", "adult-health-question", "ambulance-question", "pet-health",
              "vaccination-question"),
}


class TriageRulesError(Exception):
    """The rules cannot be used; ``problems`` lists each as "path:line: what is wrong and how to fix it"."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("triage rules have problems:\n" + "\n".join(self.problems))


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
    if ch.isdigit() or is_latin_letter(ch) or 0xC0 <= code < 0x250 or 0x1E00 <= code < 0x1F00 \
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
    return any(base_letter(c) != c for c in canonical_term(term))


@functools.cache
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
            base = base_letter(ch)
            parts.append(f"[{ch}{base}]" if base != ch else re.escape(ch))
    first, last = _script(letters[0]), _script(letters[-1])
    left = _LEFT_EDGE if first in ("word", "indic") else ""
    right = _RIGHT_EDGE if last == "word" and not canon.endswith("*") else ""
    return left + "".join(parts) + right


def _alternation(fragments: list[str], whole_message: bool = False) -> re.Pattern | None:
    """One regex for many terms (text and terms are both casefolded). ``whole_message``: a term
    counts only when the message says nothing else (a signal declared with `whole_message: true`)."""
    source = _alternation_source(fragments, key=lambda f: (-len(f), f))
    if not source:
        return None
    return re.compile(_WHOLE.format(source) if whole_message else source)


# Around a whole-message term: only punctuation, emoji, spaces and a stretched ending ("HELP!!! 😭",
# "たすけてーっ" are still a cry for help); the term may be said again ("help help help").
_FILL = r"[\W_ーっ〜ๆ]"
_WHOLE = "^" + _FILL + "*(?:{0})(?:" + _FILL + "+(?:{0}))*" + _FILL + "*$"


def _whole_message(pattern: re.Pattern) -> re.Pattern:
    return re.compile(_WHOLE.format(pattern.pattern))


def _alternation_source(fragments: list[str], key) -> str:
    """Terms that share the same word edges are grouped, so each edge check is written once
    (compiling thousands of edge classes is slow); `key` orders the terms inside a group."""
    groups: dict[tuple[bool, bool], set[str]] = {}
    for fragment in fragments:
        left = fragment.startswith(_LEFT_EDGE)
        right = fragment.endswith(_RIGHT_EDGE)
        body = fragment[len(_LEFT_EDGE) if left else 0: len(fragment) - len(_RIGHT_EDGE) if right else None]
        groups.setdefault((left, right), set()).add(body)
    alternatives = []
    for (left, right), bodies in sorted(groups.items()):
        inner = "|".join(sorted(bodies, key=key))
        alternatives.append(f"{_LEFT_EDGE if left else ''}(?:{inner}){_RIGHT_EDGE if right else ''}")
    return "|".join(alternatives)


def _cue_alternation(cues: list[str], terms: list[str], cue_first: bool) -> str:
    """One regex for every cue of a signal in one file that stands on the same side of '~'
    ("no ~", "not ~", "without ~" = (no|not|without) then any term): the terms are written once
    instead of once per cue, and share their word-edge checks, which keeps compiling fast."""
    cue_part = _alternation_source(cues, key=lambda c: (-len(c), c))
    regexes = [regex for regex in (term_regex(t, plain=True) for t in terms) if regex]
    term_part = _alternation_source(regexes, key=lambda f: (-len(f), f))
    return f"(?:{cue_part}) ?(?:{term_part})" if cue_first else f"(?:{term_part}) ?(?:{cue_part})"


def pattern_regex(pattern: str) -> re.Pattern:
    """An admin regular expression, in the canonical form (no casefold: it would change escapes)."""
    text = kana_to_hiragana(unicodedata.normalize("NFKC", pattern))
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
    whole_message_ids: set[str] = field(default_factory=set)
    declared_signals: list[tuple[str, int]] = field(default_factory=list)
    resource_lines: list[tuple[str, int, str]] = field(default_factory=list)
    fragments: dict[tuple[str, bool], list[str]] = field(default_factory=dict)    # (signal, accented)
    term_keys: dict[str, set[str]] = field(default_factory=dict)                  # signal -> its terms' keys
    keyed_terms: set[tuple[str, str, bool]] = field(default_factory=set)     # (signal, term key, accented)
    patterns: dict[str, list[re.Pattern]] = field(default_factory=dict)
    negations: dict[tuple[str, bool], list[str]] = field(default_factory=dict)
    negation_patterns: dict[str, list[re.Pattern]] = field(default_factory=dict)
    coverage: dict[str, set[str]] = field(default_factory=dict)
    locale_lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_triage_rules(directory: Path) -> TriageRules:
    """Read and compile the rules; raise TriageRulesError listing every problem found."""
    rules, problems, _ = _load(Path(directory))
    if problems or rules is None:
        raise TriageRulesError(problems)
    return rules


def check_triage_rules(directory: Path, known_resource_ids: set[str]) -> list[str]:
    """Every problem in the rules, including unknown resource ids and locales missing a signal.
    Files that parse are checked even when another file has a syntax error."""
    directory = Path(directory)
    _, problems, draft = _load(directory)
    problems = list(problems)
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


def _load(directory: Path) -> tuple[TriageRules | None, list[str], _Draft]:
    """`_compile`, remembered for the same files: loading the content and checking it (flows check,
    a hot reload) read the same rules twice, and compiling them is most of a second per language
    group. Keyed by the files' bytes and the admin's language (the problems are in it)."""
    key = _fingerprint(directory)
    found = _COMPILED.get(key)
    if found is None:
        found = _compile(directory)
        _COMPILED.clear()                  # one set of rules at a time: the shipped one or an edit
        _COMPILED[key] = found
    return found


_COMPILED: dict[tuple, tuple[TriageRules | None, list[str], _Draft]] = {}


def _fingerprint(directory: Path) -> tuple:
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(directory).glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return str(Path(directory).resolve()), digest.hexdigest(), admin_language()


def _compile(directory: Path) -> tuple[TriageRules | None, list[str], _Draft]:
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
        whole = signal_id in draft.whole_message_ids
        signals[signal_id] = Signal(
            id=signal_id,
            accented=_alternation(draft.fragments.get((signal_id, True), []), whole),
            plain=_alternation(draft.fragments.get((signal_id, False), []), whole),
            patterns=tuple(_whole_message(p) if whole else p for p in draft.patterns.get(signal_id, [])),
            negations_accented=_alternation(draft.negations.get((signal_id, True), [])),
            negations_plain=_alternation(draft.negations.get((signal_id, False), [])),
            negation_patterns=tuple(draft.negation_patterns.get(signal_id, [])))
    return TriageRules(rules=tuple(draft.rules), signals=signals, index=_term_index(draft, signals)), [], draft


def _term_index(draft: _Draft, signals: dict[str, Signal]) -> TermIndex:
    """Each signal under its terms' keys and its patterns' keys (bot/dialogue/pattern_keys.py); a
    signal with a pattern whose keys cannot be told is a candidate for every text."""
    by_key: dict[str, set[str]] = {}
    always = set()
    for signal_id, keys in draft.term_keys.items():
        for key in keys:
            by_key.setdefault(key, set()).add(signal_id)
    regexes: list[Check] = []
    checks: dict[str, list[int]] = {}
    always_checks: list[int] = []
    for signal_id in draft.patterns:
        keys_of_patterns = [pattern_keys(p) for p in signals[signal_id].patterns]
        for pattern, keys_of in zip(signals[signal_id].patterns, keys_of_patterns):
            for key in keys_of if keys_of is not None else ():
                checks.setdefault(key, []).append(len(regexes))
            if keys_of is None:
                always_checks.append(len(regexes))
            regexes.append((signal_id, pattern, True))
        if any(keys is None for keys in keys_of_patterns):
            always.add(signal_id)
            continue
        for found in keys_of_patterns:
            for key in found or ():
                by_key.setdefault(key, set()).add(signal_id)
    _term_checks(draft, signals, regexes, checks)
    return TermIndex(by_key={key: frozenset(ids) for key, ids in by_key.items()}, always=frozenset(always),
                     regexes=tuple(regexes), checks={key: tuple(found) for key, found in sorted(checks.items())},
                     always_checks=tuple(always_checks))


def _term_checks(draft: _Draft, signals: dict[str, Signal], regexes: list[Check], checks: dict[str, list[int]]) -> None:
    """Under each key, the term regex of each signal with a term of that key: its accented terms'
    regex (run on the canonical text) under their keys, its other terms' (on the text without
    accents) under theirs. No new regexes: the signals' own, which the content cache holds."""
    numbers: dict[tuple[str, bool], int] = {}
    for signal_id, key, accented in sorted(draft.keyed_terms):
        regex = signals[signal_id].accented if accented else signals[signal_id].plain
        if regex is None:
            continue
        if (signal_id, accented) not in numbers:
            numbers[(signal_id, accented)] = len(regexes)
            regexes.append((signal_id, regex, not accented))
        checks.setdefault(key, []).append(numbers[(signal_id, accented)])


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
        if item.get("whole_message"):
            draft.whole_message_ids.add(sid)
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
                    hint = did_you_mean(sid,
                                        sorted(draft.signal_ids | own_signal_rules)) or msg("triage.declare_signal")
                    source.problem(where + ("when", w_index), msg("triage.rule_unknown_signal", rule=rid, signal=sid,
                                                                  hint=hint))
        unless = tuple(item.get("unless") or ())
        if unless and level in NEVER_LOWERED:
            source.problem(where + ("unless",), f"rule '{rid}' is {level}: an emergency is never "
                                                f"lowered, so it cannot have 'unless'; remove it")
        elif level == "crisis" and set(unless) - set(CRISIS_UNLESS):
            source.problem(where + ("unless",), f"rule '{rid}' is a crisis: it is never lowered except for a "
                                                f"question about a service; its 'unless' may only list "
                                                f"{', '.join(CRISIS_UNLESS)}")
        for sid in unless:
            if sid not in draft.signal_ids:
                hint = did_you_mean(sid, sorted(draft.signal_ids)) or msg("triage.declare_signal")
                source.problem(where + ("unless",), msg("triage.rule_unknown_signal", rule=rid, signal=sid, hint=hint))
        questions = item.get("questions")
        if questions and level in ("emergency", "crisis"):
            source.problem(where + ("questions",), f"rule '{rid}' is {level}: the classifier never lowers an "
                                                   f"emergency or a crisis, so it cannot have 'questions'; remove it")
        for r_index, resource_id in enumerate(item["resource_ids"]):
            draft.resource_lines.append((resource_id, source.line(where + ("resource_ids", r_index)),
                                         source.display))
        draft.rules.append(Rule(id=rid, level=level, category=category, topic=item.get("topic"),
                                resource_ids=tuple(item["resource_ids"]), when=lines, unless=unless,
                                questions=questions))
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
                key, accented = term_key(strip_accents(canonical_term(term))), has_accents(term)
                draft.term_keys.setdefault(sid, set()).add(key)
                draft.fragments.setdefault((sid, accented), []).append(fragment)
                draft.keyed_terms.add((sid, key, accented))
        n_patterns = 0
        for index, pattern in enumerate(spec.get("patterns") or []):
            compiled = _checked_pattern(source, where + ("patterns", index), pattern)
            if compiled is not None:
                draft.patterns.setdefault(sid, []).append(compiled)
                n_patterns += 1
        cues: dict[bool, list[str]] = {True: [], False: []}      # cue before '~' / after '~'
        for index, negation in enumerate(spec.get("negations") or []):
            cue = _one_sided_cue(source, where + ("negations", index), negation, own_terms)
            if cue is not None:
                cues[cue[0]].append(cue[1])
                continue
            fragment = _negation_regex(source, where + ("negations", index), negation, own_terms)
            if fragment:
                accented = "~" not in negation and has_accents(negation)
                draft.negations.setdefault((sid, accented), []).append(fragment)
        for cue_first, found in cues.items():
            if found:
                draft.negations.setdefault((sid, False), []).append(_cue_alternation(found, own_terms, cue_first))
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


def _one_sided_cue(source: _Source, where: tuple, negation: str, own_terms: list[str]) -> tuple[bool, str] | None:
    """(cue before the term?, the cue's regex) for "no ~" or "~ stopped"; None for anything else
    (a plain phrase, "~" on both sides or twice, or a negation with a problem, which
    `_negation_regex` reports)."""
    pieces = [piece.strip() for piece in negation.split("~")]
    if len(pieces) != 2 or bool(pieces[0]) == bool(pieces[1]) or not own_terms:
        return None
    cue = pieces[0] or pieces[1]
    if not _letters(canonical_term(cue)):
        return None
    regex = term_regex(cue, plain=True)
    return (bool(pieces[0]), regex) if regex else None


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
            regex = term_regex(piece, plain=True) if _letters(canonical_term(piece)) else None
            if regex is None:
                source.problem(where, f"negation '{negation}' needs words around '~'")
                return None
            pieces.append(regex)
    return " ?".join(pieces)
