"""Burmese typed with a Zawgyi font or keyboard, converted to Unicode before anything reads it.

Many phones in Myanmar still type Zawgyi: the same code points as Unicode Burmese, used for
other letters and in another order (the vowel sign "e" before its consonant, U+1039 as asat).
Triage terms, the resource index and the advisors' translation all expect Unicode, so a
Zawgyi "ကေလး အသက္မရွဴဘူး" (baby not breathing) would match nothing. We convert it first.

Libraries (README, "Dependencies and why"): Google's `myanmartools` detector (a Markov model
trained on both encodings; Google's advice is to convert above 0.95) and the pure-Python
`python-myanmar` converter (MIT; rule tables for Zawgyi → Unicode). ICU's "Zawgyi-my"
transform would also do, but PyICU has to be compiled against libicu on every machine.
"""
from __future__ import annotations

import re
from functools import lru_cache

ZAWGYI_THRESHOLD = 0.95
_BURMESE = re.compile(r"[\u1000-\u109f]")
# Zawgyi typists use the digit zero "၀" for the letter wa "ဝ" (they look the same); the converter
# keeps it. Inside a word (not next to another digit) it is the letter.
_ZERO_AS_WA = re.compile(r"(?<![\u1040-\u1049])\u1040(?![\u1040-\u1049])")


@lru_cache(maxsize=1)
def _detector():
    from myanmartools import ZawgyiDetector  # loads a 28 kB model once per process
    return ZawgyiDetector()


def is_zawgyi(text: str) -> bool:
    if not _BURMESE.search(text):
        return False                               # nothing Burmese: skip the model
    return _detector().get_zawgyi_probability(text) > ZAWGYI_THRESHOLD


def to_unicode(text: str) -> str:
    """`text` unchanged unless it is Burmese in Zawgyi, then the same words in Unicode."""
    if not is_zawgyi(text):
        return text
    from myanmar.converter import convert
    return _ZERO_AS_WA.sub("\u101d", convert(text, "zawgyi", "unicode"))


def normalise_event_text(event: dict) -> dict:
    """The event with a Zawgyi text message converted; the original is kept beside it."""
    message = event.get("message")
    if not (isinstance(message, dict) and message.get("type") == "text" and isinstance(message.get("text"), str)):
        return event
    converted = to_unicode(message["text"])
    if converted == message["text"]:
        return event
    return {**event, "message": {**message, "text": converted, "zawgyiText": message["text"]}}
