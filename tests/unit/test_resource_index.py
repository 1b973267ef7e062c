"""The resource index files: loading, `resources check` and `resources import`, with file:line errors."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from bot import LOCALES
from bot.cli import main as cli
from bot.resources.check import check_resources
from bot.resources.csv_import import ImportError_, import_csv
from bot.resources.loader import ResourceIndexError, load_index

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)

ENTRIES = """\
entries:
- id: birth-registration
  category: birth
  scope: national
  handoff_recommended: false
  last_verified: '2026-02-01'
  contacts: []
  sources:
  - url: https://www.city.hiroshima.lg.jp/site/english/15314.html
    publisher: Hiroshima City
    type: official
  keywords: [出生届, shussei todoke]
- id: pediatric-call-8000
  category: emergency
  scope: national
  handoff_recommended: false
  last_verified: '2026-02-01'
  contacts:
  - name: Children's emergency line
    phone: '#8000'
  - name: Tokyo line
    phone: 03-5285-8898
  sources:
  - url: https://www.mhlw.go.jp/topics/2006/10/tp1010-3.html
    publisher: MHLW
    type: official
  keywords: ['#8000', kodomo]
"""
TOSHIMA = """\
entries:
- id: toshima-desk
  category: consultation
  scope: municipal
  municipality: toshima-ku
  handoff_recommended: false
  last_verified: '2026-02-01'
  contacts:
  - name: Toshima City Office
    phone: 03-3981-1111
  sources:
  - url: https://www.city.toshima.lg.jp/
    publisher: Toshima City
    type: official
  keywords: [豊島区, Toshima]
"""


def write_resources(root: Path, entries: str = ENTRIES, toshima: str = TOSHIMA) -> Path:
    """A small valid resources/ folder with a text for every entry in every locale."""
    (root / "entries").mkdir(parents=True)
    (root / "text").mkdir()
    (root / "entries" / "national.yaml").write_text(entries, encoding="utf-8")
    (root / "entries" / "toshima-ku.yaml").write_text(toshima, encoding="utf-8")
    ids = ["birth-registration", "pediatric-call-8000", "toshima-desk"]
    for locale in LOCALES:
        texts = {i: {"title": f"{i} ({locale})", "label": i[:20], "answer": f"About {i}.",
                     "keywords": [i.replace("-", " ")], "examples": [f"where is {i}"]} for i in ids}
        (root / "text" / f"{locale}.yaml").write_text(
            yaml.safe_dump({"locale": locale, "entries": texts}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def errors(problems) -> list[str]:
    return [str(p) for p in problems if not p.warning]


def warnings(problems) -> list[str]:
    return [str(p) for p in problems if p.warning]


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ---- the shipped index ---------------------------------------------------------------------------

def test_shipped_index_loads_and_passes_the_check():
    index = load_index(REPO / "resources")
    assert len(index.entries) >= 44
    assert errors(check_resources(REPO / "resources")) == []
    for locale in LOCALES:
        assert set(index.texts[locale]) == set(index.entries), locale


# ---- loading ---------------------------------------------------------------------------------------

def test_load_index_builds_entries_texts_and_search(tmp_path):
    index = load_index(write_resources(tmp_path / "resources"))
    assert index.ids() == ["birth-registration", "pediatric-call-8000", "toshima-desk"]
    entry = index.get("toshima-desk")
    assert entry.municipality == "toshima-ku" and entry.contacts[0].phone == "03-3981-1111"
    assert index.text("birth-registration", "vi").title == "birth-registration (vi)"
    assert index.engine is not None                      # built once at load, not per question


def test_missing_translation_falls_back_to_english(tmp_path):
    root = write_resources(tmp_path / "resources")
    data = yaml.safe_load((root / "text" / "vi.yaml").read_text(encoding="utf-8"))
    del data["entries"]["toshima-desk"]
    (root / "text" / "vi.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    index = load_index(root)                             # the live bot keeps working
    assert index.text("toshima-desk", "vi").title == "toshima-desk (en)"
    assert any("vi.yaml:1: no vi text for 1 entry: toshima-desk" in e for e in errors(check_resources(root, TODAY)))


def test_schema_error_names_file_line_and_fix(tmp_path):
    root = write_resources(tmp_path / "resources")
    replace_in(root / "entries" / "national.yaml", "category: emergency", "category: emergncy")
    with pytest.raises(ResourceIndexError) as caught:
        load_index(root)
    [problem] = caught.value.problems
    assert "national.yaml:14: 'category' is 'emergncy'; use one of: pregnancy, birth" in problem


def test_missing_field_and_unknown_field(tmp_path):
    root = write_resources(tmp_path / "resources")
    replace_in(root / "entries" / "toshima-ku.yaml", "  municipality: toshima-ku\n", "  municipalty: toshima-ku\n")
    problems = "\n".join(pytest.raises(ResourceIndexError, load_index, root).value.problems)
    # one error for one typo: the unknown field with a guess, not also "'municipality' is missing"
    assert problems.count("toshima-ku.yaml:") == 1
    assert "toshima-ku.yaml:2: 'municipalty' is not a field here" in problems
    assert "did you mean 'municipality'?" in problems


def test_yaml_syntax_error_has_a_line(tmp_path):
    root = write_resources(tmp_path / "resources")
    replace_in(root / "entries" / "toshima-ku.yaml", "  keywords: [豊島区, Toshima]", "  keywords: [豊島区, Toshima")
    problems = pytest.raises(ResourceIndexError, load_index, root).value.problems
    assert any("toshima-ku.yaml:" in p and "YAML structure problem" in p for p in problems)


def test_duplicate_id_and_unknown_text_id(tmp_path):
    root = write_resources(tmp_path / "resources", toshima=TOSHIMA.replace("id: toshima-desk", "id: birth-registration"))
    problems = "\n".join(pytest.raises(ResourceIndexError, load_index, root).value.problems)
    assert "toshima-ku.yaml:2: id 'birth-registration' is already used at" in problems
    assert "'toshima-desk' is not an id in resources/entries" in problems


def test_label_too_long_and_yes_no_keyword(tmp_path):
    root = write_resources(tmp_path / "resources")
    replace_in(root / "text" / "ko.yaml", "label: birth-registration", "label: birth-registration-label-long")
    replace_in(root / "entries" / "national.yaml", "keywords: [出生届, shussei todoke]", "keywords: [出生届, no]")
    problems = "\n".join(pytest.raises(ResourceIndexError, load_index, root).value.problems)
    assert "ko.yaml:" in problems and "ko.yaml:5: 'label' has 29 characters, at most 20 fit" in problems
    assert "was read as False" in problems and "put it in quotes" in problems


# ---- resources check -----------------------------------------------------------------------------

@pytest.mark.parametrize("phone", ["03-3987-4173", "0120-279-889", "0570-013904", "050-3405-0397", "0120-76-2029",
                                   "119", "110", "189", "#8000", "#7119", "+81 3-3987-4173"])
def test_good_phone_numbers(tmp_path, phone):
    root = write_resources(tmp_path / "resources", toshima=TOSHIMA.replace("03-3981-1111", f"'{phone}'"))
    assert [p for p in check_resources(root, TODAY) if "phone" in p.message] == []


@pytest.mark.parametrize("phone, expected", [
    ("03-3987-417", "has 9 digits"),
    ("03 3987 4173", "is not a phone number; write it like 03-3987-4173"),
    ("call the office", "is not a phone number"),
])
def test_bad_phone_numbers_are_errors(tmp_path, phone, expected):
    root = write_resources(tmp_path / "resources", toshima=TOSHIMA.replace("03-3981-1111", f"'{phone}'"))
    [problem] = errors(check_resources(root, TODAY))
    assert problem.startswith("resources/") or "toshima-ku.yaml:10:" in problem
    assert "toshima-ku.yaml:10:" in problem and expected in problem


def test_free_text_phone_is_only_a_warning(tmp_path):
    root = write_resources(tmp_path / "resources",
                           toshima=TOSHIMA.replace("03-3981-1111", "see https://www.city.toshima.lg.jp/ (not confirmed)"))
    problems = check_resources(root, TODAY)
    assert errors(problems) == []
    assert any("toshima-ku.yaml:10: warning: phone" in w for w in warnings(problems))


def test_bad_url_stale_and_impossible_dates(tmp_path):
    entries = (ENTRIES.replace("https://www.mhlw.go.jp/topics/2006/10/tp1010-3.html", "www.mhlw.go.jp/page")
               .replace("last_verified: '2026-02-01'", "last_verified: '2025-06-30'", 1)
               .replace("last_verified: '2026-02-01'", "last_verified: '2026-13-01'", 1))
    root = write_resources(tmp_path / "resources", entries=entries)
    problems = check_resources(root, TODAY)
    assert any("national.yaml:24: 'www.mhlw.go.jp/page' is not a web address" in e for e in errors(problems))
    assert any("national.yaml:17: last_verified '2026-13-01' is not a real date" in e for e in errors(problems))
    assert any("national.yaml:6: warning: last verified on 2025-06-30, more than a year ago" in w
               for w in warnings(problems))


def test_check_command_exit_codes(tmp_path, capsys):
    root = write_resources(tmp_path / "resources")
    assert cli(["resources", "check", "--dir", str(root)]) == 0
    assert "resources: OK" in capsys.readouterr().out
    replace_in(root / "entries" / "toshima-ku.yaml", "03-3981-1111", "03-3981-111")
    assert cli(["resources", "check", "--dir", str(root)]) == 1
    out = capsys.readouterr()
    assert "toshima-ku.yaml:10: phone '03-3981-111' has 9 digits" in out.out
    assert "1 error(s)" in out.err


# ---- resources import ----------------------------------------------------------------------------

CSV = """\
id,category,title_ja,answer_ja,label_ja,keywords,phone,hours,url,source_url,last_verified,handoff_recommended
kawaguchi-health,health,川口市保健所,妊娠届は保健センターへ。,保健所,母子手帳;保健センター,048-423-6714,平日 8:30-17:15,,https://www.city.kawaguchi.lg.jp/a,2026-01-10,no
kawaguchi-bad-phone,health,電話,説明,,,048-423-671,,,https://www.city.kawaguchi.lg.jp/b,,
,health,idなし,説明,,,,,,https://www.city.kawaguchi.lg.jp/c,,
birth-registration,birth,重複,説明,,,,,,https://www.city.kawaguchi.lg.jp/d,,
kawaguchi-x,nonsense,カテゴリ,説明,,,,,,https://www.city.kawaguchi.lg.jp/e,,
kawaguchi-nosource,health,出典なし,説明,,,,,,,,
kawaguchi-nursery,childcare,川口市の保育所の入所申し込みについてのご案内,保育幼稚園課へ。,,保育園、hoikuen,048-258-1110,,,https://www.city.kawaguchi.lg.jp/f,,yes
"""


def test_import_writes_entries_and_japanese_texts_and_reports_rejects(tmp_path):
    root = write_resources(tmp_path / "resources")
    source = tmp_path / "kawaguchi.csv"
    source.write_text(CSV, encoding="utf-8")
    report = import_csv(source, root, municipality="kawaguchi-shi", today=TODAY)
    assert report.imported == ["kawaguchi-health", "kawaguchi-nursery"]
    reasons = dict(report.rejected)
    assert "has 9 digits" in reasons[3]
    assert "id empty" in reasons[4]
    assert "already used at" in reasons[5] and "national.yaml" in reasons[5]
    assert "category 'nonsense'" in reasons[6]
    assert "no source_url or url" in reasons[7]
    index = load_index(root)
    health = index.get("kawaguchi-health")
    assert (health.scope, health.municipality, health.contacts[0].phone) == ("municipal", "kawaguchi-shi", "048-423-6714")
    assert "kawaguchi" in health.keywords
    assert index.get("kawaguchi-nursery").handoff_recommended is True
    nursery = index.texts["ja"]["kawaguchi-nursery"]
    assert len(nursery.label) <= 20 and nursery.keywords == ("保育園", "hoikuen")
    assert index.get("kawaguchi-nursery").last_verified == "2026-11-23"
    rendered = report.render()
    assert "row 3: rejected: phone '048-423-671' has 9 digits" in rendered
    # The other languages are still missing: the check says so.
    assert any("no en text for 2 entries" in e for e in errors(check_resources(root, TODAY)))


def test_reimport_updates_and_dry_run_writes_nothing(tmp_path):
    root = write_resources(tmp_path / "resources")
    source = tmp_path / "list.csv"
    source.write_bytes(CSV.encode("cp932"))              # Shift_JIS, as spreadsheets often save it
    import_csv(source, root, municipality="kawaguchi-shi", today=TODAY)
    source.write_bytes(CSV.replace("妊娠届は保健センターへ。", "新しい説明。").encode("cp932"))
    before = (root / "entries" / "kawaguchi-shi.yaml").read_text(encoding="utf-8")
    dry = import_csv(source, root, municipality="kawaguchi-shi", dry_run=True, today=TODAY)
    assert dry.updated == ["kawaguchi-health", "kawaguchi-nursery"] and dry.written == []
    assert (root / "entries" / "kawaguchi-shi.yaml").read_text(encoding="utf-8") == before
    report = import_csv(source, root, municipality="kawaguchi-shi", today=TODAY)
    assert report.updated == ["kawaguchi-health", "kawaguchi-nursery"]
    assert load_index(root).texts["ja"]["kawaguchi-health"].answer == "新しい説明。"


def test_import_without_required_columns_or_municipality(tmp_path, capsys):
    root = write_resources(tmp_path / "resources")
    source = tmp_path / "bad.csv"
    source.write_text("name,phone\nx,03-1234-5678\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="missing: id, category, title_ja, answer_ja"):
        import_csv(source, root, municipality="x-shi")
    source.write_text(CSV, encoding="utf-8")
    assert cli(["resources", "import", str(source), "--dir", str(root)]) == 2
    assert "--municipality" in capsys.readouterr().err


# ---- only official pages are shown as "official information" (issue 12, item 6) -----------------------

def _shown_source(text: str, label: str) -> str | None:
    lines = [line for line in text.splitlines() if line.startswith(label + ": ")]
    return lines[-1].split(": ", 1)[1] if lines else None


@pytest.mark.parametrize("municipality", [None, "toshima-ku", "matsudo-shi"])
def test_every_answer_shows_only_an_official_site_as_official_information(shared_content, municipality):
    """A blog, a cached copy or another city's page (the 189 line's Hiroshima page) is never shown
    under "Official information"; an official page further down the entry's list is shown instead."""
    from bot.dialogue.answering import IndexAnswerer
    from bot.resources.check import official_domains
    from bot.resources.model import is_official
    content = shared_content.current()
    sites, _ = official_domains(REPO / "resources")
    assert content.index.official_sites == sites and "go.jp" in sites
    answerer = IndexAnswerer(content, municipality=municipality)
    label = content.catalog.text("en", "answers.source")
    shown = {entry_id: _shown_source(answerer.entry_text(entry_id, "en"), label) for entry_id in content.index.ids()}
    assert not {entry_id: url for entry_id, url in shown.items() if url and not is_official(url, sites)}
    assert shown["child-abuse-189-line"] is None or "hiroshima" not in shown["child-abuse-189-line"]
    assert shown["birth-registration"] and is_official(shown["birth-registration"], sites)


def test_without_an_official_list_every_source_may_be_shown(tmp_path):
    root = write_resources(tmp_path / "resources")
    hiroshima = load_index(root).entries["birth-registration"].sources[0]
    assert load_index(root).shows_source(hiroshima)                 # no list: as before (the check warns)
    (root / "official_domains.yaml").write_text("domains:\n  - go.jp\n", encoding="utf-8")
    index = load_index(root)
    assert index.official_sites == ("go.jp",) and not index.shows_source(hiroshima)
    assert index.shows_source(index.entries["pediatric-call-8000"].sources[0])     # www.mhlw.go.jp
