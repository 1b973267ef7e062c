"""Which of the 17 languages a message is clearly written in, or None when unsure.

Used to offer a language switch (never to switch silently) and to answer a first emergency
message in its own language. Scripts decide most languages; Latin-script languages need at
least two marker words and a clear lead over the runner-up.
"""
from __future__ import annotations

import re
import unicodedata

_SCRIPTS = (
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("my", re.compile(r"[\u1000-\u109f]")),
    ("si", re.compile(r"[\u0d80-\u0dff]")),
    ("bn", re.compile(r"[\u0980-\u09ff]")),
)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
# Characters that exist only in one of the two Chinese scripts (a small, common sample).
_SIMPLIFIED = set("这说们为来时个国后过还没么产发现动问间题学实会东车长门见开关头书")
_TRADITIONAL = set("這說們為來時個國後過還沒麼產發現動問間題學實會東車長門見開關頭書")
_NEPALI_MARKERS = {"छ", "छु", "छन्", "हो", "मेरो", "गर्न", "कसरी", "भयो", "पनि", "लागि", "हुन्छ", "छैन", "हुनुभयो",
                   "गर्ने", "जन्मिएको", "भएको", "मलाई", "हामी", "कति", "कहाँ", "चाहिन्छ", "सक्छु"}
_HINDI_MARKERS = {"है", "हैं", "मेरा", "मेरी", "का", "की", "के", "नहीं", "कैसे", "क्या", "में", "हूँ", "करना"}
_LATIN_MARKERS = {
    "vi": {"toi", "em", "con", "cua", "khong", "ko", "duoc", "dc", "the", "nao", "o", "dau", "bao", "nhieu", "la", "va",
           "co", "chi", "anh", "be"},
    "tl": {"po", "ang", "ng", "ako", "ko", "anak", "paano", "saan", "na", "sa", "mga", "baby", "ba", "kailangan", "ano",
           "yung", "namin"},
    "id": {"saya", "bagaimana", "anak", "bisa", "tidak", "apa", "yang", "di", "untuk", "dan", "ini", "gimana", "gak",
           "mau", "kami", "sudah", "istri", "suami", "hamil", "bulan", "sekali", "berapa", "dimana"},
    "pt-BR": {"você", "voce", "não", "nao", "meu", "minha", "filho", "como", "para", "que", "eu", "do", "da", "bebê",
              "bebe", "tem", "posso", "é"},
    "es": {"mi", "hijo", "hija", "cómo", "como", "para", "qué", "que", "bebé", "tengo", "puedo", "es", "el", "la",
           "los", "dónde", "donde", "yo", "necesito"},
    "en": {"i", "my", "the", "is", "how", "what", "where", "can", "do", "baby", "need", "and", "to", "for", "we",
           "have", "when"},
}
_VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def clear_language_of(text: str) -> str | None:
    if not text or len(text.strip()) < 4:
        return None
    for locale, pattern in _SCRIPTS:
        if len(pattern.findall(text)) >= 2:
            return locale
    if len(_KANA.findall(text)) >= 2:
        return "ja"
    if len(_HAN.findall(text)) >= 3:
        return _chinese_variant(text)
    if len(_DEVANAGARI.findall(text)) >= 3:
        return _devanagari_language(text)
    if len(_VIETNAMESE_LETTERS.findall(text)) >= 2:
        return "vi"
    return _latin_language(text)


def _chinese_variant(text: str) -> str | None:
    simplified = sum(ch in _SIMPLIFIED for ch in text)
    traditional = sum(ch in _TRADITIONAL for ch in text)
    if traditional > simplified:
        return "zh-Hant"
    return "zh-Hans"


def _devanagari_language(text: str) -> str | None:
    words = set(re.findall(r"[\u0900-\u097f]+", text))
    nepali, hindi = len(words & _NEPALI_MARKERS), len(words & _HINDI_MARKERS)
    if nepali > hindi:
        return "ne"
    if hindi > nepali:
        return "hi"
    return None


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def _latin_language(text: str) -> str | None:
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < 3:
        return None
    plain = [_strip_accents(w) for w in words]
    scores = {locale: sum(w in markers or p in markers for w, p in zip(words, plain))
              for locale, markers in _LATIN_MARKERS.items()}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= 2 and top >= second + 2:
        return best
    return None
