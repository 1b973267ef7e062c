"""Flow engine, deadlines and the admin's safety net (check, hot reload, broken YAML)."""
from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from bot.content.cache import ContentCache
from bot.content.registry import ContentError, ContentRegistry, load_content
from bot.flows.deadlines import add_months, birth_date_problem, birth_deadlines
from bot.flows.inputs import parse_date, parse_number, parse_yes_no
from tests.conftest import REPO


def due(birth: date, key: str, today: date | None = None) -> tuple[date, int]:
    """The day the legal period ends (before any move past closed days), and the days left."""
    found = {d.key: d for d in birth_deadlines(birth, today or birth)}[key]
    return found.original or found.due, found.days_left


@pytest.mark.parametrize("birth, registration, residence", [
    (date(2026, 11, 10), date(2026, 11, 23), date(2026, 12, 10)),
    (date(2026, 1, 31), date(2026, 2, 13), date(2026, 3, 2)),     # month end, 28-day February
    (date(2028, 2, 20), date(2028, 3, 4), date(2028, 3, 21)),     # leap year: 29 February counts
    (date(2026, 12, 25), date(2027, 1, 7), date(2027, 1, 24)),    # across the year end
])
def test_birth_registration_counts_the_day_of_birth_and_visa_30_days(birth, registration, residence):
    assert due(birth, "birth_registration")[0] == registration
    assert due(birth, "residence_status")[0] == residence
    assert due(birth, "child_allowance")[0] == birth.fromordinal(birth.toordinal() + 15)


def test_days_left_and_passed():
    # Born 10 Nov 2026: registration ends on 23 Nov, a national holiday, so the law gives until 24 Nov.
    assert due(date(2026, 11, 10), "birth_registration", date(2026, 11, 24))[1] == 0
    assert due(date(2026, 11, 10), "birth_registration", date(2026, 11, 25))[1] == -1
    assert due(date(2026, 11, 10), "residence_status", date(2026, 11, 23))[1] == 17
    assert due(date(2026, 11, 11), "birth_registration", date(2026, 11, 24))[1] == 0   # 24 Nov: open


def test_one_month_checkup_clamps_to_the_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_future_and_late_birth_dates_go_to_a_person():
    today = date(2026, 11, 23)
    assert birth_date_problem(date(2026, 11, 24), today) == "future"
    assert birth_date_problem(date(2026, 9, 24), today) is None          # 60 days ago: still the checklist
    assert birth_date_problem(date(2026, 9, 23), today) == "late"        # 61 days


@pytest.mark.parametrize("text, expected", [
    ("2026-11-10", date(2026, 11, 10)), ("2026/11/10", date(2026, 11, 10)), ("10/11/2026", date(2026, 11, 10)),
    ("11/20/2026", date(2026, 11, 20)), ("2026年11月10日", date(2026, 11, 10)), ("１１月１０日", date(2026, 11, 10)),
    ("2026년 11월 10일", date(2026, 11, 10)), ("31/02/2026", None), ("hello", None),
    ("12月28日", date(2025, 12, 28)),         # said in November: a birth date is in the past
])
def test_dates_typed_in_many_ways(text, expected):
    assert parse_date(text, date(2026, 11, 23)) == expected


def test_numbers_and_yes_no():
    assert parse_number("３人") == 3 and parse_number("१२") == 12 and parse_number("none") is None
    assert parse_yes_no("Yes!", ["yes"], ["no"]) is True and parse_yes_no("no", ["yes"], ["no"]) is False
    assert parse_yes_no("maybe", ["yes"], ["no"]) is None




def private_cache(tmp_path: Path) -> ContentCache:
    """A compiled-content cache of the test's own: sets compiled from a copy must not push the
    shipped set out of the run's cache, which the other tests and worker processes load."""
    return ContentCache(tmp_path / "content-cache")


def test_shipped_content_loads():
    load_content(REPO / "locales", REPO / "flows", REPO / "resources")


def test_broken_yaml_gives_file_and_line(content_copy):
    locales, flows, resources = content_copy
    path = flows / "nursery.yaml"
    path.write_text(path.read_text().replace("    input: yes_no", "    input: yes_no\n   bad: indent"))
    with pytest.raises(ContentError) as error:
        load_content(locales, flows, resources)
    assert any(p.startswith(f"{path}:") and "YAML structure problem" in p for p in error.value.problems)


def test_unknown_step_and_missing_text_are_reported(content_copy):
    locales, flows, resources = content_copy
    path = flows / "nursery.yaml"
    text = path.read_text().replace("next: check", "next: chekc").replace("text: nursery.ask_working", "text: nursery.ask_workng")
    path.write_text(text)
    with pytest.raises(ContentError) as error:
        load_content(locales, flows, resources)
    problems = "\n".join(error.value.problems)
    assert "goes to 'chekc', which is not a step of this flow; did you mean 'check'?" in problems
    assert "text 'nursery.ask_workng' is not in locales/en.yaml" in problems
    assert "did you mean 'nursery.ask_working'?" in problems
    # the typo is the one mistake: the steps after it are not also called unreachable
    assert "can never be reached" not in problems and len(error.value.problems) == 2


def test_too_long_label_is_reported_with_its_line(content_copy):
    from bot.content.checks import check_catalog
    from bot.content.i18n import Catalog
    locales, _, _ = content_copy
    path = locales / "en.yaml"
    path.write_text(path.read_text().replace("  person: Talk to a person", "  person: Talk to a person from our team now"))
    problems = check_catalog(Catalog.load(locales))
    assert any(f"{path}:" in p and "'menu.person' has 39 characters" in p for p in problems) or \
        any("menu.person" in p and "20" in p for p in problems)


def test_each_locale_writes_dates_its_own_way_whatever_was_rendered_before():
    from bot.content.i18n import Catalog
    catalog = Catalog({"vi": {"k": "ngày {{ d | date }}"}, "ja": {"k": "{{ d | date }}に"},
                       "bn": {"k": "{{ d | date }}", "n": "{{ n | number }}"}, "es": {"n": "{{ n | number }}"}})
    first = catalog.text("vi", "k", d="2026-12-07")
    assert first == "ngày Thứ Hai, 07/12/2026"
    assert catalog.text("ja", "k", d="2026-12-07") == "2026年12月7日(月)に"
    catalog.text("bn", "k", d="2026-12-07")
    assert catalog.text("vi", "k", d="2026-12-07") == first          # not the Japanese or Bengali date
    assert catalog.text("es", "n", n=1234.5) == "1.234,5"
    assert catalog.text("bn", "n", n=1234.5) == "1,234.5"
    assert catalog.text("es", "n", n=1234.5) == "1.234,5"


def test_hot_reload_picks_up_a_change_and_keeps_serving_after_a_broken_edit(content_copy, tmp_path):
    locales, flows, resources = content_copy
    registry = ContentRegistry(locales, flows, resources, check_interval_s=0, background=False,
                               cache=private_cache(tmp_path))
    before = registry.current()
    en = locales / "en.yaml"
    en.write_text(en.read_text().replace("  prompt: What do you need help with?", "  prompt: How can we help?"))
    time.sleep(0.01)
    assert registry.current().catalog.text("en", "menu.prompt").startswith("How can we help?")
    en.write_text(en.read_text() + "\n  broken: [unclosed\n")
    time.sleep(0.01)
    still = registry.current()
    assert still.catalog.text("en", "menu.prompt").startswith("How can we help?")
    assert registry.last_problems and str(en) in registry.last_problems[0]
    assert still is not before


def test_background_reload_keeps_serving_the_old_content_until_the_new_is_ready(content_copy, tmp_path):
    from tests.support.processes import wait_until
    locales, flows, resources = content_copy
    registry = ContentRegistry(locales, flows, resources, check_interval_s=0, cache=private_cache(tmp_path))
    old = registry.current()
    en = locales / "en.yaml"
    en.write_text(en.read_text().replace("  prompt: What do you need help with?", "  prompt: Tell us what you need."))
    assert registry.current() is old                      # no turn waits for the reload
    assert wait_until(lambda: registry.current().catalog.text("en", "menu.prompt").startswith("Tell us"), timeout=60)
