"""`python -m bot resources check`: everything an admin can get wrong in resources/, with file:line.

Errors (exit 1): the shape (resources/schema.json), a locale text missing for an entry, a phone
number or URL that is not one, an impossible date. Warnings: free text where a number belongs,
entries not verified for more than a year, missing keywords or examples (search gets worse), a
source outside the official sites of resources/official_domains.yaml, a contact label in Latin
letters shown inside a language that is not written in them ("☎ Emergency consultation" in Burmese).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

from bot import LOCALES
from bot.adapters.clock import ZoneClock
from bot.content.adminmsg import msg
from bot.content.yamlfile import YamlFileError, load_yaml_with_lines
from bot.dialogue.messages import MAX_TEXT_UTF16, utf16_len
from bot.resources.loader import OFFICIAL_DOMAINS_FILE, RawFile, display_path, read_index
from bot.resources.model import is_official

STALE_AFTER = timedelta(days=365)
MAX_TITLE = 60
# 03-3987-4173, 0120-279-889, 0570-011000, 050-3405-0397 (10 or 11 digits, first 0); 119, #8000.
_PHONE = re.compile(r"^0\d{1,4}(-\d{1,6}){1,2}$")
_SHORT_NUMBER = re.compile(r"^(1\d\d|#\d{4})$")
_INTERNATIONAL = re.compile(r"^\+81[- ]?\d{1,4}([- ]\d{1,4}){1,2}$")
_POINTER = re.compile(r"\bsee\b|https?://", re.IGNORECASE)
# Locales whose script is not Latin: a contact label in Latin letters there is English left inside.
NON_LATIN_LOCALES = ("ja", "ja-easy", "zh-Hans", "zh-Hant", "ko", "ne", "my", "si", "th", "hi", "bn")


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {msg('warning_prefix') if self.warning else ''}{self.message}"


def check_resources(resources_dir: Path, today: date | None = None) -> list[Problem]:
    today = today or ZoneClock().today()       # Japan's date, as admins read it
    index, shape_problems, raw_files = read_index(Path(resources_dir))
    problems = [Problem(*_split(text)) for text in shape_problems]
    entry_files = [raw for raw in raw_files if raw.path.parent.name == "entries"]
    official, domain_problems = official_domains(Path(resources_dir))
    problems += domain_problems
    for raw in entry_files:
        for position, item in _items(raw):
            problems += _entry_problems(raw, f"entries[{position}]", item, today)
            problems += _source_problems(raw, f"entries[{position}]", item, official)
    problems += _locale_problems(Path(resources_dir), index)
    problems += _label_script_problems(index)
    return problems


def official_domains(resources_dir: Path) -> tuple[tuple[str, ...], list[Problem]]:
    """The allow-list of official web sites, and a problem if the file cannot be read."""
    path = resources_dir / OFFICIAL_DOMAINS_FILE
    if not path.exists():
        return (), [Problem(f"{display_path(path)}:1", msg("res.domains_missing"), warning=True)]
    try:
        data, lines = load_yaml_with_lines(path)
    except YamlFileError as exc:
        return (), [Problem(*_split(str(exc)))]
    domains = data.get("domains") if isinstance(data, dict) else None
    if not isinstance(domains, list) or not all(isinstance(d, str) and d.strip() for d in domains):
        return (), [Problem(f"{display_path(path)}:{lines.get('domains', 1)}", msg("res.domains_shape"))]
    return tuple(d.strip().lower().lstrip(".") for d in domains), []


def _source_problems(raw: RawFile, path: str, item: dict, official: tuple[str, ...]) -> list[Problem]:
    """Warn on every source (of the entry and of its local variants) outside the official sites."""
    places = [(path, item)] + [(f"{path}.local.{slug}", variant)
                               for slug, variant in (item.get("local") or {}).items() if isinstance(variant, dict)]
    problems = []
    for where, holder in places:
        for number, source in enumerate(holder.get("sources") or []):
            url = source.get("url") if isinstance(source, dict) else None
            if isinstance(url, str) and url_problem(url) is None and not is_official(url, official):
                host = urlparse(url.strip()).hostname
                problems.append(Problem(raw.where(f"{where}.sources[{number}].url"),
                                        msg("res.unofficial_source", host=host), warning=True))
    return problems


def mostly_latin(text: str) -> bool:
    """More Latin letters than letters of any other script: 'Emergency consultation', not '千葉県救急'."""
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(1 for ch in letters if ch.isascii() or "LATIN" in unicodedata.name(ch, ""))
    return bool(letters) and latin * 2 > len(letters)


def _label_script_problems(index) -> list[Problem]:
    """A contact's label as a parent reading a non-Latin locale sees it: its role's word, else its name.
    One warning per contact, naming the locales concerned."""
    problems = []
    for entry in index.entries.values():
        contacts = list(entry.contacts) + [c for variant in entry.local.values() for c in variant.contacts]
        for contact in contacts:
            locales = [locale for locale in NON_LATIN_LOCALES if entry.id in index.texts.get(locale, {})
                       and mostly_latin(_label(index, contact, locale))]
            if locales:
                problems.append(Problem(entry.where, _latin_label_message(entry.id, contact, locales), warning=True))
    return problems


def _label(index, contact, locale: str) -> str:
    return (index.word(locale, "contact_roles", contact.role) if contact.role else None) or contact.name


def _latin_label_message(entry_id: str, contact, locales: list[str]) -> str:
    if contact.role:
        return msg("res.role_without_word", role=contact.role, id=entry_id, locales=", ".join(locales))
    return msg("res.latin_label", name=contact.name, id=entry_id, locales=", ".join(locales))


def _split(text: str) -> tuple[str, str]:
    where, _, message = text.partition(": ")
    return where, message


def _items(raw: RawFile):
    items = raw.data.get("entries") if isinstance(raw.data, dict) else None
    for position, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            yield position, item


def _entry_problems(raw: RawFile, path: str, item: dict, today: date) -> list[Problem]:
    problems = _date_problems(raw, path, item.get("last_verified"), today)
    for number, contact in enumerate(item.get("contacts") or []):
        if not isinstance(contact, dict):
            continue
        for field in ("phone", "alt_phone"):
            if isinstance(contact.get(field), str):
                problems += _phone_problems(raw, f"{path}.contacts[{number}].{field}", contact[field])
        if isinstance(contact.get("url"), str):
            problems += _url_problems(raw, f"{path}.contacts[{number}].url", contact["url"])
    for number, source in enumerate(item.get("sources") or []):
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            problems += _url_problems(raw, f"{path}.sources[{number}].url", source["url"])
    return problems


def _phone_problems(raw: RawFile, path: str, phone: str) -> list[Problem]:
    found = phone_problem(phone)
    return [Problem(raw.where(path), found[0], warning=found[1])] if found else []


def phone_problem(phone: str) -> tuple[str, bool] | None:
    """(what is wrong, is it only a warning) or None for a good number. Shared with the importer."""
    value = phone.strip()
    if _SHORT_NUMBER.match(value) or _INTERNATIONAL.match(value):
        return None
    if _PHONE.match(value):
        digits = len(value.replace("-", ""))
        if digits in (10, 11):
            return None
        return msg("res.phone_digits", phone=phone, digits=digits), False
    if _POINTER.search(value):
        return msg("res.phone_pointer", phone=phone), True
    return msg("res.phone_bad", phone=phone), False


def _url_problems(raw: RawFile, path: str, url: str) -> list[Problem]:
    found = url_problem(url)
    return [Problem(raw.where(path), found)] if found else []


def url_problem(url: str) -> str | None:
    parsed = urlparse(url.strip())
    if parsed.scheme in ("http", "https") and "." in parsed.netloc and not re.search(r"\s", url.strip()):
        return None
    return msg("res.bad_url", url=url)


def _date_problems(raw: RawFile, path: str, value, today: date) -> list[Problem]:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        return []                          # missing or wrong shape: already a schema error
    where = raw.where(f"{path}.last_verified")
    try:
        verified = date.fromisoformat(value)
    except ValueError:
        return [Problem(where, msg("res.date_unreal", value=value))]
    if verified > today:
        return [Problem(where, msg("res.date_future", value=value))]
    if today - verified > STALE_AFTER:
        return [Problem(where, msg("res.date_stale", value=value), warning=True)]
    return []


def _locale_problems(resources_dir: Path, index) -> list[Problem]:
    problems = []
    for locale in LOCALES:
        texts = index.texts.get(locale, {})
        path = resources_dir / "text" / f"{locale}.yaml"
        missing = [entry_id for entry_id in index.entries if entry_id not in texts]
        if missing:
            problems.append(Problem(f"{display_path(path)}:1", msg(
                "res.missing_texts", locale=locale, count=len(missing), plural="y" if len(missing) == 1 else "ies",
                ids=", ".join(missing))))
        for entry_id, text in texts.items():
            problems += _text_problems(locale, entry_id, text)
    return problems


def _text_problems(locale: str, entry_id: str, text) -> list[Problem]:
    where = text.where
    problems = []
    if not text.label:
        problems.append(Problem(where, msg("res.no_label", id=entry_id)))
    if utf16_len(text.answer) > MAX_TEXT_UTF16:
        problems.append(Problem(where, msg("res.answer_too_long", id=entry_id, limit=MAX_TEXT_UTF16)))
    if len(text.title) > MAX_TITLE:
        problems.append(Problem(where, msg("res.title_long", id=entry_id, length=len(text.title), limit=MAX_TITLE),
                                warning=True))
    for field in ("keywords", "examples"):
        if not getattr(text, field):
            problems.append(Problem(where, msg("res.no_keywords", id=entry_id, field=field, locale=locale),
                                    warning=True))
    return problems
