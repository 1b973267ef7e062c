"""`python -m bot flows check`: everything an admin can edit, checked before it goes live."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError

from bot import LOCALES
from bot.content.adminmsg import did_you_mean, msg
from bot.content.i18n import Catalog, CatalogError
from bot.content.yamlfile import YamlFileError, load_yaml_with_lines
from bot.dialogue.messages import MAX_LABEL_CHARS, MAX_TEXT_UTF16, utf16_len

# Texts the code itself uses as button labels (flows' labels are checked with the flows).
CODE_LABEL_KEYS = ("core.continue", "core.start_over", "core.keep_language", "core.more_languages",
                   "answers.helped", "answers.not_helped", "privacy.agree", "privacy.read_more",
                   "core.municipality_other",
                   "privacy.no_thanks", "privacy.delete_yes", "privacy.delete_no",
                   "input.answer_yes", "input.answer_no", "input.pick_date", "menu.person", "menu.main",
                   "reminders.more", "reminders.list_button", "reminders.stop_button")
_SYNTAX = Environment()


def check_catalog(catalog: Catalog) -> list[str]:
    problems = []
    reference = catalog.texts.get("en", {})
    for locale in LOCALES:
        texts = catalog.texts.get(locale, {})
        refs = catalog.refs.get(locale, {})
        path = f"locales/{locale}.yaml"
        for key, value in reference.items():
            if key not in texts:
                problems.append(msg("locale.missing_text", path=path, key=key, english=repr(str(value)[:60])))
            elif isinstance(value, list) != isinstance(texts[key], list):
                kind = msg("locale.kind_list" if isinstance(value, list) else "locale.kind_text")
                problems.append(msg("locale.wrong_kind", where=_where(refs, key, path), key=key, kind=kind))
        for key in texts:
            if key not in reference:
                hint = did_you_mean(key, reference)
                problems.append(msg("locale.unknown_key", where=_where(refs, key, path), key=key, hint=hint) if hint
                                else msg("locale.unknown_key_no_guess", where=_where(refs, key, path), key=key))
        for key, value in texts.items():
            problems.extend(_text_problems(refs, key, value, path))
        for key in CODE_LABEL_KEYS:
            label = texts.get(key)
            if isinstance(label, str) and len(label) > MAX_LABEL_CHARS:
                problems.append(msg("flow.label_too_long", where=_where(refs, key, path), key=key, length=len(label),
                                    limit=MAX_LABEL_CHARS))
    return problems


def _text_problems(refs, key: str, value, path: str) -> list[str]:
    if isinstance(value, list):
        return []
    problems = []
    try:
        _SYNTAX.parse(value)
    except TemplateSyntaxError as exc:
        problems.append(msg("locale.template_error", where=_where(refs, key, path), key=key, error=exc.message))
    if utf16_len(value) > MAX_TEXT_UTF16:
        problems.append(msg("locale.too_long", where=_where(refs, key, path), key=key, limit=MAX_TEXT_UTF16))
    if not value.strip():
        problems.append(msg("locale.empty", where=_where(refs, key, path), key=key))
    return problems


def _where(refs, key: str, path: str) -> str:
    ref = refs.get(key)
    return f"{ref.path}:{ref.line}" if ref else f"{path}:1"


def check_all(locales_dir: Path, flows_dir: Path, resources_dir: Path) -> list[str]:
    from bot.content.registry import ContentError, load_content

    problems: list[str] = []
    try:
        content = load_content(locales_dir, flows_dir, resources_dir)
        problems += check_catalog(content.catalog)
    except ContentError as exc:
        # Something does not load: report that, and still check the texts on their own.
        content = None
        problems += exc.problems
        try:
            problems += [p for p in check_catalog(Catalog.load(locales_dir)) if p not in problems]
        except CatalogError:
            pass                                  # its problems are in exc.problems already
    problems += _triage_problems(flows_dir, resources_dir, content)
    problems += _rich_menu_problems(flows_dir, content.catalog if content is not None else None)
    problems += _reminder_problems(flows_dir, resources_dir, content)
    return problems


def _reminder_problems(flows_dir: Path, resources_dir: Path, content) -> list[str]:
    from bot.reminders.schedule import check_schedule
    catalog = content.catalog if content is not None else None
    known = set(content.index.ids()) if content is not None else _entry_ids(resources_dir)
    return check_schedule(flows_dir, catalog, known)


def _rich_menu_problems(flows_dir: Path, catalog: Catalog | None) -> list[str]:
    from bot.richmenu.model import MENU_FILE, check_rich_menu
    if catalog is None or not (flows_dir / MENU_FILE).exists():
        return []                                 # the texts' problems are reported above
    return check_rich_menu(flows_dir, catalog)


def _triage_problems(flows_dir: Path, resources_dir: Path, content) -> list[str]:
    from bot.dialogue.triage_rules import check_triage_rules
    triage_dir = flows_dir / "triage"
    if not triage_dir.exists():
        return [msg("triage.missing_dir", path=triage_dir)]
    known = set(content.index.ids()) if content is not None else _entry_ids(resources_dir)
    return check_triage_rules(triage_dir, known)


def _entry_ids(resources_dir: Path) -> set[str]:
    """Entry ids straight from resources/entries, for when the whole index does not load."""
    ids: set[str] = set()
    for path in sorted((resources_dir / "entries").glob("*.yaml")):
        try:
            data, _ = load_yaml_with_lines(path)
        except YamlFileError:
            continue
        ids.update(e["id"] for e in (data or {}).get("entries", []) if isinstance(e, dict) and "id" in e)
    return ids
