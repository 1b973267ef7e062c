"""Index keys of an admin regular expression (a triage signal's `patterns`): short literal pieces
one of which every match of the pattern contains.

With keys, a signal whose patterns are free regular expressions joins the term index
(bot/dialogue/triage.py `TermIndex`) like a signal of plain terms: its regexes run only on texts
holding one of its keys, where they used to run on every text (issue 17: 37 signals, 247
patterns). A pattern whose keys cannot be told for sure gets none (`None`), and its signal stays
a candidate for every text, as before.

How: the pattern's parse tree (the `re` module's own parser) is walked for what every match must
contain. A run of literal letters one after another in a sequence is such a piece; so is what a
group or a repeat of at least one must contain; an alternation needs a piece from every branch
(its keys are the union). Optional parts, character classes, look-arounds and back references
contribute nothing. Keys are at most KEY_LENGTH letters from the middle of a run, lower-cased,
and only made of letters whose case-insensitive match in a canonical text is the letter itself:
ASCII, or letters without case (CJK, kana, hangul, Indic and other scripts). The text the keys
are looked up in is casefolded and without accents, as the patterns are run on it.
"""
from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

KEY_LENGTH = 3

Keys = frozenset[str]


def pattern_keys(pattern: re.Pattern, key_length: int = KEY_LENGTH) -> Keys | None:
    """Keys of which every match of `pattern` contains one, or None when that cannot be told."""
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    except Exception:  # noqa: BLE001 - anything the walk does not understand: no keys, always a candidate
        return None
    return _sequence(list(tree), key_length)


def _key_letter(code: int) -> str | None:
    """The letter as it stands in a casefolded text, or None when case folding could make it
    something else (non-ASCII letters with case: 'ß', 'ſ', Greek sigma ...)."""
    char = chr(code)
    if char.isascii():
        return char.lower()
    if char.lower() == char == char.upper() == char.casefold():
        return char
    return None


def _sequence(items: list, key_length: int) -> Keys | None:
    """The best keys of a sequence: any one element that every match holds is enough."""
    options: list[Keys] = []
    run: list[str] = []
    for op, av in items:
        letter = _key_letter(av) if op is sre.LITERAL else None
        if letter is not None:
            run.append(letter)
            continue
        _close_run(run, options, key_length)
        run = []
        found = _element(op, av, key_length)
        if found is not None:
            options.append(found)
    _close_run(run, options, key_length)
    if not options:
        return None
    # Longest keys first (a 3-letter piece is rarer than a letter), then the fewest of them.
    return max(options, key=lambda keys: (min(len(k) for k in keys), -len(keys)))


def _close_run(run: list[str], options: list[Keys], key_length: int) -> None:
    if run:
        start = max(0, (len(run) - key_length) // 2)
        options.append(frozenset(["".join(run[start:start + key_length])]))


def _element(op, av, key_length: int) -> Keys | None:
    if op is sre.SUBPATTERN:                       # (group, add_flags, del_flags, pattern)
        return _sequence(list(av[3]), key_length)
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av), key_length)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, body = av
        return _sequence(list(body), key_length) if low >= 1 else None
    if op is sre.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            keys = _sequence(list(branch), key_length)
            if keys is None:
                return None
            union |= keys
        return frozenset(union)
    return None            # a class, any letter, an anchor, a look-around, a back reference ...
