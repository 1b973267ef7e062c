"""Index keys of admin triage patterns (bot/dialogue/pattern_keys.py): every match holds one."""
from __future__ import annotations

import re

import pytest

from bot.dialogue.pattern_keys import pattern_keys


def keys(source: str):
    return pattern_keys(re.compile(source, re.IGNORECASE))


@pytest.mark.parametrize(("source", "expected"), [
    (r"\bsangr\w*\b.{0,15}\bno para", {"ang"}),                 # the longest literal run, its middle
    (r"\b(peanut|egg|bee)\w*", {"ean", "egg", "bee"}),          # a group: a key from every branch
    (r"(はち|蜂).{0,15}(息|のど)", {"はち", "蜂"}),                 # letters without case
    (r"\bHEAD\b", {"hea"}),                                      # lower-cased, as the text is casefolded
    (r"(tiembl|tembl)\w*", {"emb"}),                             # the parser's common suffix, one key
    (r"(ab)+c?d", {"ab"}),                                       # a repeat of at least one holds its body
])
def test_keys_every_match_contains(source, expected):
    assert keys(source) == frozenset(expected)


@pytest.mark.parametrize("source", [
    r"\d+\s*[.,]\d",           # nothing literal
    r"(abc)?\d",               # optional: a match need not hold it
    r"(abc|\d)x?",             # a branch without a key
    r"[abc]{3}",               # a class
    r"(?=abc)\w",              # a look-ahead consumes nothing
    "ß",                        # a letter with case outside ASCII: its case-insensitive matches differ
])
def test_no_keys_when_a_match_need_not_hold_one(source):
    assert keys(source) is None


def test_keys_are_found_in_every_match_of_the_shipped_patterns_on_their_own_examples():
    samples = {r"\b(shout|yell)\w*\s+at\s+(my|the) (son|kid)": ["Shouting at my son", "yell at the kid"],
               r"피(가|를)?\s*\S{0,4}\s*(나요|나와)": ["피가 많이 나요", "피 나와"]}
    for source, texts in samples.items():
        pattern, found = re.compile(source, re.IGNORECASE), keys(source)
        assert found
        for text in texts:
            match = pattern.search(text.casefold())
            assert match and any(key in match.group(0) for key in found), (source, text)
