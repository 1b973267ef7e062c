"""`python -m bot resources import FILE.csv`: a city's open-data list into the resource index.

Writes resources/entries/<slug>.yaml (facts) and resources/text/ja/<slug>.yaml (Japanese texts).
Rows that cannot be used are reported with their spreadsheet row number and the reason; the
others are imported. Importing the same list again updates the entries it imported before. The
result is loaded once more before anything is kept, so an import never leaves a broken index.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from bot.adapters.clock import ZoneClock
from bot.resources.check import phone_problem, url_problem
from bot.resources.loader import read_index

REQUIRED = ("id", "category", "title_ja", "answer_ja")
COLUMNS = REQUIRED + ("label_ja", "keywords", "examples_ja", "contact_name", "phone", "hours", "url", "source_url",
                      "source_publisher", "last_verified", "handoff_recommended", "municipality")
CATEGORIES = ("pregnancy", "birth", "visa", "health", "childcare", "money", "emergency", "daily-life", "consultation")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LIST_SEPARATORS = re.compile(r"[;；、|]")
_YES = {"yes", "true", "1", "はい", "y"}
_NO = {"no", "false", "0", "いいえ", "n", ""}
MAX_LABEL = 20


class ImportError_(Exception):
    """The whole file cannot be imported (unreadable, no header, no municipality)."""


@dataclass
class ImportReport:
    source: Path
    municipality: str
    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)      # (spreadsheet row, reason)
    notes: list[tuple[int, str]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    dry_run: bool = False

    def render(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        lines = [f"{self.source}: {verb} {len(self.imported)} entr{'y' if len(self.imported) == 1 else 'ies'} "
                 f"for {self.municipality} ({len(self.updated)} updated), rejected {len(self.rejected)} row(s)"]
        lines += [f"  row {row}: rejected: {reason}" for row, reason in self.rejected]
        lines += [f"  row {row}: note: {note}" for row, note in self.notes]
        lines += [f"  wrote {path}" for path in self.written]
        if self.imported and not self.dry_run:
            lines.append("Next: add the texts in the other 16 languages (resources/text/<locale>/"
                         f"{self.municipality}.yaml) and run `python -m bot resources check`. Until then parents "
                         "see the Japanese text.")
        return "\n".join(lines)


def import_csv(csv_path: Path, resources_dir: Path, municipality: str | None = None,
               dry_run: bool = False, today: date | None = None) -> ImportReport:
    rows = _read_rows(csv_path)
    slug = municipality or _municipality_column(rows)
    if not slug or not _SLUG.match(slug):
        raise ImportError_(f"{csv_path}: give the municipality as --municipality toshima-ku (lowercase letters, "
                           f"digits and hyphens) or fill the `municipality` column")
    entries_path = resources_dir / "entries" / f"{slug}.yaml"
    texts_path = resources_dir / "text" / "ja" / f"{slug}.yaml"
    report = ImportReport(csv_path, slug, dry_run=dry_run)
    old_entries, old_texts = _existing(entries_path, "entries", []), _existing(texts_path, "entries", {})
    taken = _taken_ids(resources_dir, set(old_texts))
    new_entries, new_texts = _convert(rows, slug, taken, report, today or ZoneClock().today())
    entries = [e for e in old_entries if e.get("id") not in new_texts] + new_entries
    texts = {**old_texts, **new_texts}
    report.updated = [entry_id for entry_id in new_texts if entry_id in old_texts]
    if not dry_run and new_entries:
        files = {entries_path: {"entries": entries}, texts_path: {"locale": "ja", "entries": texts}}
        _write_checked(resources_dir, files, report)
    return report


# ---- reading -----------------------------------------------------------------------------------

def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportError_(f"{path}: cannot read: {exc.strerror}") from None
    text = _decode(raw, path)
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportError_(f"{path}:1: the first row must name the columns; missing: {', '.join(missing)} "
                           f"(see resources/README.md)")
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def _decode(raw: bytes, path: Path) -> str:
    # Japanese open data is often saved as Shift_JIS by spreadsheet programs.
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportError_(f"{path}: the file is neither UTF-8 nor Shift_JIS; save it as 'CSV UTF-8'")


def _municipality_column(rows: list[dict[str, str]]) -> str | None:
    values = {row.get("municipality", "") for row in rows} - {""}
    return values.pop() if len(values) == 1 else None


def _existing(path: Path, key: str, empty):
    if not path.exists():
        return empty
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data.get(key) or empty


def _taken_ids(resources_dir: Path, reimported: set[str]) -> dict[str, str]:
    """Ids already used elsewhere (id → file:line); those this list imported before may be updated."""
    index, _, _ = read_index(resources_dir)
    return {entry_id: entry.where for entry_id, entry in index.entries.items() if entry_id not in reimported}


# ---- converting rows -------------------------------------------------------------------------

def _convert(rows, slug: str, taken: dict[str, str], report: ImportReport, today: date):
    entries: list[dict] = []
    texts: dict[str, dict] = {}
    for number, row in enumerate(rows, start=2):            # row 1 is the header, as in a spreadsheet
        reason = _rejection(row, taken, texts)
        if reason:
            report.rejected.append((number, reason))
            continue
        entry, text, notes = _row_to_entry(row, slug, today)
        report.notes += [(number, note) for note in notes]
        entries.append(entry)
        texts[entry["id"]] = text
        report.imported.append(entry["id"])
    return entries, texts


def _rejection(row: dict[str, str], taken: dict[str, str], seen: dict) -> str | None:
    empty = [name for name in REQUIRED if not row.get(name)]
    if empty:
        return f"{', '.join(empty)} empty; fill {'it' if len(empty) == 1 else 'them'} in"
    entry_id = row["id"]
    if not _SLUG.match(entry_id):
        return f"id '{entry_id}' must be lowercase letters, digits and hyphens (e.g. toshima-health-center)"
    if entry_id in taken:
        return f"id '{entry_id}' is already used at {taken[entry_id]}; choose another id"
    if entry_id in seen:
        return f"id '{entry_id}' appears twice in this file; keep one row"
    if row["category"] not in CATEGORIES:
        return f"category '{row['category']}' is not one of: {', '.join(CATEGORIES)}"
    return _field_rejection(row)


def _field_rejection(row: dict[str, str]) -> str | None:
    phone = row.get("phone", "")
    problem = phone_problem(phone) if phone else None
    if problem and not problem[1]:
        return problem[0]
    for column in ("url", "source_url"):
        if row.get(column) and url_problem(row[column]):
            return f"{column}: {url_problem(row[column])}"
    if not (row.get("source_url") or row.get("url")):
        return "no source_url or url: give the page the facts come from"
    if len(row.get("label_ja", "")) > MAX_LABEL:
        return f"label_ja has {len(row['label_ja'])} characters; LINE shows at most {MAX_LABEL}"
    if row.get("last_verified") and not _is_date(row["last_verified"]):
        return f"last_verified '{row['last_verified']}' is not a date; write YYYY-MM-DD"
    if row.get("handoff_recommended", "").lower() not in _YES | _NO:
        return f"handoff_recommended '{row['handoff_recommended']}' must be yes or no"
    return None


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _row_to_entry(row: dict[str, str], slug: str, today: date) -> tuple[dict, dict, list[str]]:
    notes = []
    problem = phone_problem(row["phone"]) if row.get("phone") else None
    if problem:
        notes.append(problem[0])
    contact = {key: row[column] for key, column in (("phone", "phone"), ("hours", "hours"), ("url", "url"))
               if row.get(column)}
    if contact:
        contact = {"name": row.get("contact_name") or row["title_ja"], **contact}
    label = row.get("label_ja") or _short_label(row["title_ja"])
    if not row.get("label_ja"):
        notes.append(f"no label_ja; using '{label}'")
    entry = {
        "id": row["id"], "category": row["category"], "scope": "municipal", "municipality": slug,
        "handoff_recommended": row.get("handoff_recommended", "").lower() in _YES,
        "last_verified": row.get("last_verified") or today.isoformat(),
        "contacts": [contact] if contact else [],
        "sources": [{"url": row.get("source_url") or row["url"],
                     "publisher": row.get("source_publisher") or f"{slug} (open data)", "type": "official"}],
        # The place name in romaji helps every language find the city's own entries.
        "keywords": _split_list(row.get("keywords", "")) + [slug.split("-")[0]],
    }
    text = {"title": row["title_ja"], "label": label, "answer": row["answer_ja"],
            "keywords": _split_list(row.get("keywords", "")), "examples": _split_list(row.get("examples_ja", ""))}
    return entry, text, notes


def _short_label(title: str) -> str:
    return title if len(title) <= MAX_LABEL else title[:MAX_LABEL - 1] + "…"


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in _LIST_SEPARATORS.split(value) if part.strip()]


# ---- writing -----------------------------------------------------------------------------------

def _write_checked(resources_dir: Path, files: dict[Path, dict], report: ImportReport) -> None:
    before = {path: path.read_bytes() if path.exists() else None for path in files}
    known = set(read_index(resources_dir)[1])                # problems that were there already
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        header = (f"# Imported from {report.source.name} by `python -m bot resources import`; "
                  f"importing again replaces entries with the same id.\n")
        path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")
    problems = [p for p in read_index(resources_dir)[1] if p not in known]
    if problems:
        for path, content in before.items():                 # put everything back as it was
            path.unlink() if content is None else path.write_bytes(content)
        raise ImportError_("the import would break the index, nothing was changed:\n" + "\n".join(problems))
    report.written = list(files)
