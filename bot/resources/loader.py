"""Reading resources/ into a ResourceIndex; every problem is reported as `file:line: ...`.

Layout: resources/entries/*.yaml (facts), resources/text/<locale>.yaml (texts) and, for texts
added by `resources import`, resources/text/<locale>/*.yaml. Shape errors reject the whole
index (the running bot keeps its previous version); completeness is `resources check`'s job,
so a missing translation falls back to English instead of taking the bot down.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import LOCALES
from bot.content.adminmsg import admin_language, closest, did_you_mean, msg
from bot.content.yamlfile import YamlFileError, load_yaml_text, load_yaml_with_lines, read_text
from bot.resources.model import Contact, Entry, EntryText, LocalVariant, Opening, ResourceIndex, Source

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "resources" / "schema.json"
OFFICIAL_DOMAINS_FILE = "official_domains.yaml"


class ResourceIndexError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class RawFile:
    """One parsed YAML file and the line of every key, so any value can be pointed at."""
    path: Path
    data: Any
    lines: dict[str, int]
    text: str | None = None                      # kept when read with `reuse` (read_index)
    # schema_problems per (schema definition, working directory, admin language): the messages name
    # the file relative to the working directory, in the admin's language
    checked: dict[tuple, list] = field(default_factory=dict, repr=False, compare=False)

    def line(self, dotted: str = "") -> int:
        # A value may have no line of its own (a scalar in a list): walk up to its nearest parent.
        key = dotted
        while key and key not in self.lines:
            key = key[:max(key.rfind("."), key.rfind("["), 0)]
        return self.lines.get(key, 1)

    def where(self, dotted: str = "") -> str:
        return f"{display_path(self.path)}:{self.line(dotted)}"


def display_path(path: Path) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def load_index(resources_dir: Path) -> ResourceIndex:
    index, problems, _ = read_index(Path(resources_dir), reuse=True)
    if problems:
        raise ResourceIndexError(problems)
    return index


def read_index(resources_dir: Path, reuse: bool = False) -> tuple[ResourceIndex, list[str], list[RawFile]]:
    """Everything that could be read, the shape problems found, and the raw files (for checks).

    With `reuse` (the content loader), a file whose text is the same as when it was last read is
    not parsed and schema-checked again: a hot reload after an edit of one file redoes that file
    only. Its parsed data is shared with the previous index, so callers must not change it."""
    problems: list[str] = []
    entry_paths = sorted((resources_dir / "entries").glob("*.yaml"))
    entry_files = _read_all(entry_paths, problems, reuse)
    text_files = _read_all(_text_paths(resources_dir / "text"), problems, reuse)
    if not entry_files and not problems:
        problems.append(msg("res.no_entry_files", path=display_path(resources_dir / "entries")))
    broken: set[str] = set()
    entries = _entries(entry_files, problems, broken)
    words: dict[str, dict[str, dict[str, str]]] = {}
    # When an entries file does not parse, which ids exist is unknown: texts are not checked against them.
    known = None if len(entry_files) < len(entry_paths) else set(entries) | broken
    problems.extend(_localizes_problems(entries))
    texts = _texts(text_files, known, problems, words)
    municipalities = _municipalities(resources_dir / "municipalities.yaml")
    index = ResourceIndex(entries=entries, texts=texts, words=words, areas=_areas(municipalities),
                          place_names=_place_names(municipalities),
                          official_sites=_official_sites(resources_dir / OFFICIAL_DOMAINS_FILE))
    if not problems:
        from bot.resources.search import SearchEngine
        index.engine = SearchEngine.build(index)       # built once here, so every search is fast
    return index, problems, entry_files + text_files


def _official_sites(path: Path) -> tuple[str, ...]:
    """resources/official_domains.yaml's sites; () when it is missing or broken (`resources check`
    reports that with its line, and the bot then shows every source as before)."""
    try:
        data, _ = load_yaml_with_lines(path) if path.exists() else (None, {})
    except YamlFileError:
        return ()
    domains = data.get("domains") if isinstance(data, dict) else None
    if not isinstance(domains, list) or not all(isinstance(d, str) and d.strip() for d in domains):
        return ()
    return tuple(d.strip().lower().lstrip(".") for d in domains)


def _areas(municipalities: list[dict]) -> dict[str, str]:
    """`within:` of resources/municipalities.yaml: Toshima-ku is in Tokyo (tokyo-to)."""
    return {str(m["slug"]): str(m["within"]) for m in municipalities if m.get("slug") and m.get("within")}


def _place_names(municipalities: list[dict]) -> dict[str, tuple[str, ...]]:
    """`names:` of resources/municipalities.yaml, with the slug's own words ("toshima", "toshimaku")."""
    found = {}
    for m in municipalities:
        if not m.get("slug"):
            continue
        slug = str(m["slug"])
        listed = m.get("names")
        names = listed if isinstance(listed, list) else []
        found[slug] = tuple(dict.fromkeys([*(str(n).strip() for n in names if str(n).strip()),
                                           slug.replace("-", ""), slug.split("-")[0]]))
    return found


def _municipalities(path: Path) -> list[dict]:
    """The entries of resources/municipalities.yaml, read once for the areas and the names."""
    if not path.exists():
        return []
    try:
        data, _ = load_yaml_with_lines(path)
    except YamlFileError:
        return []                     # reported by the content loader with its line
    return [m for m in (data or {}).get("municipalities") or [] if isinstance(m, dict)]


def _text_paths(text_dir: Path) -> list[Path]:
    return sorted(text_dir.glob("*.yaml")) + sorted(text_dir.glob("*/*.yaml"))


def _read_all(paths: list[Path], problems: list[str], reuse: bool = False) -> list[RawFile]:
    files = []
    for path in paths:
        try:
            if reuse:
                text = read_text(path)
                raw = _PARSED.get(str(path))
                if raw is None or raw.text != text:
                    data, lines = load_yaml_text(text, path)
                    raw = RawFile(path, data, lines, text=text)
                    _PARSED[str(path)] = raw
                    while len(_PARSED) > _PARSED_KEPT:
                        del _PARSED[next(iter(_PARSED))]     # the oldest: files of another folder
            else:
                data, lines = load_yaml_with_lines(path)
                raw = RawFile(path, data, lines)
        except YamlFileError as exc:
            problems.append(str(exc))
            continue
        files.append(raw)
    return files


# Files read with `reuse`, by path: their text, parsed data and schema problems (RawFile).
_PARSED: dict[str, RawFile] = {}
_PARSED_KEPT = 256


def forget_previous_loads() -> None:
    """Drop what the next load would reuse (parsed files, search features): it loads from scratch."""
    from bot.resources.search import forget_previous_builds
    _PARSED.clear()
    forget_previous_builds()


@lru_cache(maxsize=2)
def _validator(definition: str | None) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # only loading from YAML needs it
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    if definition:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(_inlined(schema, schema["$defs"], ()))


def _inlined(node, defs: dict, resolving: tuple[str, ...]):
    """The schema with every local `#/$defs/...` reference replaced by the definition itself.

    jsonschema resolves a `$ref` on every visit (a registry lookup and a JSON pointer walk), which
    was half of checking the shipped index. Inlined, the same keywords check the same values:
    the errors keep their value paths, keywords, sub-schemas and messages (only `schema_path`,
    which nothing here reads, loses its `$ref` steps). A definition that refers to itself is left
    as a reference."""
    if isinstance(node, list):
        return [_inlined(item, defs, resolving) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: (value if key == "$defs" else _inlined(value, defs, resolving)) for key, value in node.items()}
    ref = out.get("$ref")
    name = ref.removeprefix("#/$defs/") if isinstance(ref, str) and ref.startswith("#/$defs/") else None
    if name is None or name not in defs or name in resolving:
        return out
    target = _inlined(defs[name], defs, (*resolving, name))
    siblings = {key: value for key, value in out.items() if key != "$ref"}
    if set(siblings) - {"description", "title", "$comment", "$defs"} or not isinstance(target, dict):
        return out                    # other keywords beside the reference: kept as jsonschema reads them
    return {**target, **{key: value for key, value in siblings.items() if key != "$defs"}} \
        if "$defs" not in siblings else {**target, **siblings}


def schema_problems(raw: RawFile, definition: str | None = None) -> list[tuple[tuple, str]]:
    """(path of the wrong value, message) for every schema error, in file order."""
    key = (definition, os.getcwd(), admin_language())
    if raw.text is not None and key in raw.checked:
        return list(raw.checked[key])               # the same text was checked before (hot reload)
    errors = sorted(drop_typo_twins(_validator(definition).iter_errors(raw.data)),
                    key=lambda e: raw.line(_dotted(e.absolute_path)))
    found = [(tuple(error.absolute_path), f"{raw.where(_dotted(error.absolute_path))}: {_explain(error)}")
             for error in errors]
    if raw.text is not None:
        raw.checked[key] = list(found)
    return found


def drop_typo_twins(errors) -> list:
    """One error per mistake: a misspelt field ('municipalty') is reported as unknown, with a guess,
    and not again as the field it was meant to be ('municipality' is missing)."""
    errors = list(errors)
    meant = set()
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = list((error.schema.get("properties") or {}).keys())
            for key in error.instance:
                guess = closest(key, allowed) if key not in allowed else None
                if guess:
                    meant.add((tuple(error.absolute_path), guess))
    return [e for e in errors if not (e.validator == "required" and
                                      (tuple(e.absolute_path), _quoted(e.message)) in meant)]


def _quoted(message: str) -> str:
    return message.split("'")[1] if "'" in message else message


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(error) -> str:
    names = [str(p) for p in error.absolute_path if not isinstance(p, int)]
    field = names[-1] if names else "file"
    if error.validator == "required":
        return msg("res.required", field=error.message.split("'")[1] if "'" in error.message else error.message)
    if error.validator == "additionalProperties":
        allowed = list((error.schema.get("properties") or {}).keys())
        extra = [key for key in error.instance if key not in allowed] or [error.message]
        return msg("res.unknown_field", field=extra[0], hint=did_you_mean(extra[0], allowed))
    if error.validator == "enum":
        allowed = [str(v) for v in error.validator_value]
        return msg("res.enum", field=field, value=repr(error.instance), allowed=", ".join(allowed),
                   hint=did_you_mean(error.instance, allowed))
    if error.validator == "maxLength":
        return msg("res.too_long", field=field, length=len(error.instance), limit=error.validator_value)
    if error.validator == "pattern" and field.endswith("last_verified"):
        return msg("res.bad_date_shape", field=field, value=repr(error.instance))
    if error.validator == "pattern":
        return msg("res.bad_slug", field=field, value=repr(error.instance)) \
            if "a-z0-9" in str(error.validator_value) else msg("res.empty", field=field)
    if error.validator in ("type", "anyOf") and isinstance(error.instance, bool):
        return msg("res.yes_no", field=field, value=error.instance)
    if error.validator == "not":
        return msg("res.national_with_municipality")
    return msg("res.other", field=field, error=error.message)


def _entries(files: list[RawFile], problems: list[str], broken_ids: set[str]) -> dict[str, Entry]:
    """Valid entries by id; ids of invalid ones go to `broken_ids` so their texts raise no second error."""
    entries: dict[str, Entry] = {}
    for raw in files:
        found = schema_problems(raw)
        problems.extend(message for _, message in found)
        broken = {path[1] for path, _ in found if len(path) > 1}      # positions of entries with errors
        items = raw.data.get("entries") if isinstance(raw.data, dict) else None
        for position, item in enumerate(items if isinstance(items, list) else []):
            where = raw.where(f"entries[{position}]")
            entry = None if position in broken else _entry(item, where)
            if entry is None:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    broken_ids.add(item["id"])
                continue
            if entry.id in entries:
                problems.append(msg("res.duplicate_id", where=where, id=entry.id, first=entries[entry.id].where))
                continue
            entries[entry.id] = entry
    return entries


def _entry(item: dict, where: str) -> Entry | None:
    try:
        return Entry(
            id=item["id"], category=item["category"], scope=item["scope"],
            municipality=item.get("municipality"), handoff_recommended=item["handoff_recommended"],
            last_verified=item["last_verified"], verify=item.get("verify"),
            contacts=_contacts(item["contacts"]), sources=_sources(item["sources"]),
            keywords=tuple(str(k) for k in item["keywords"]), where=where,
            localizes=tuple(str(i) for i in item.get("localizes") or ()),
            local={slug: LocalVariant(contacts=_contacts(v["contacts"]), sources=_sources(v["sources"]),
                                      verify=v.get("verify"))
                   for slug, v in (item.get("local") or {}).items()})
    except (KeyError, TypeError):
        return None                      # already reported by the schema check, with its line


def _localizes_problems(entries: dict[str, Entry]) -> list[str]:
    """`localizes:` names national entries that exist, from an entry of a municipality."""
    problems = []
    for entry in entries.values():
        if entry.localizes and not entry.municipality:
            problems.append(msg("res.localizes_without_municipality", where=entry.where))
            continue
        for entry_id in entry.localizes:
            other = entries.get(entry_id)
            if other is None:
                problems.append(msg("res.localizes_unknown", where=entry.where, id=entry_id,
                                    hint=did_you_mean(entry_id, list(entries))))
            elif other.municipality:
                problems.append(msg("res.localizes_not_national", where=entry.where, id=entry_id))
    return problems


def _contacts(items: list[dict]) -> tuple[Contact, ...]:
    return tuple(Contact(name=c["name"], phone=c.get("phone"), url=c.get("url"), alt_phone=c.get("alt_phone"),
                         languages=c.get("languages"), role=c.get("role"), address=c.get("address"),
                         hours=c["hours"] if isinstance(c.get("hours"), str) else None,
                         opening=tuple(Opening(days=o["days"], start=o["from"], end=o["to"],
                                               next_day=bool(o.get("next_day")))
                                       for o in c["hours"]) if isinstance(c.get("hours"), list) else ())
                 for c in items)


def _sources(items: list[dict]) -> tuple[Source, ...]:
    return tuple(Source(url=s["url"], publisher=s["publisher"], type=s["type"]) for s in items)


def _texts(files: list[RawFile], known_ids: set[str] | None, problems: list[str],
           words: dict[str, dict[str, dict[str, str]]]) -> dict[str, dict[str, EntryText]]:
    texts: dict[str, dict[str, EntryText]] = {}
    for raw in files:
        locale = _file_locale(raw)
        if locale not in LOCALES:
            problems.append(msg("res.unknown_locale_file", where=raw.where(), locale=locale,
                                locales=", ".join(LOCALES)))
            continue
        found = schema_problems(raw, "textFile")
        problems.extend(message for _, message in found)
        if found:
            continue
        if raw.data["locale"] != locale:
            problems.append(msg("res.locale_mismatch", where=raw.where("locale"), locale=raw.data["locale"],
                                expected=locale))
            continue
        _add_texts(raw, locale, known_ids, texts.setdefault(locale, {}), problems)
        for group in ("contact_roles", "days"):
            words.setdefault(locale, {}).setdefault(group, {}).update(raw.data.get(group) or {})
    return texts


def _file_locale(raw: RawFile) -> str:
    # resources/text/vi.yaml → vi; resources/text/vi/toshima-ku.yaml → vi
    return raw.path.stem if raw.path.parent.name == "text" else raw.path.parent.name


def _add_texts(raw: RawFile, locale: str, known_ids: set[str] | None, into: dict[str, EntryText],
               problems: list[str]) -> None:
    for entry_id, item in (raw.data.get("entries") or {}).items():
        where = raw.where(f"entries.{entry_id}")
        # When the entries did not load, their own error is the one to fix first: no "unknown id" here.
        if known_ids is not None and entry_id not in known_ids:
            hint = did_you_mean(entry_id, known_ids)
            problems.append(msg("res.unknown_text_id", where=where, id=entry_id, hint=hint) if hint
                            else msg("res.unknown_text_id_no_guess", where=where, id=entry_id))
        elif entry_id in into:
            problems.append(msg("res.duplicate_text", where=where, id=entry_id, locale=locale))
        else:
            into[entry_id] = EntryText(
                title=item["title"], answer=item["answer"], label=item.get("label"),
                keywords=tuple(str(k) for k in item.get("keywords") or ()),
                examples=tuple(str(e) for e in item.get("examples") or ()), where=where)
