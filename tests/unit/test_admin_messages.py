"""Admins get one clear error per mistake, with a "did you mean", in Japanese or English
(issue 12, item 9), and a good edit goes live within seconds without a message arriving first."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.content.adminmsg import MESSAGES_FILE, admin_language
from bot.content.checks import check_all
from bot.content.registry import ContentRegistry
from tests.unit.test_flows import REPO, private_cache
from tests.unit.test_resource_index import write_resources


@pytest.fixture(autouse=True)
def english_admin(monkeypatch):
    monkeypatch.setenv("BOT_ADMIN_LANGUAGE", "en")


@pytest.fixture
def content(content_copy):
    return content_copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(content) -> list[str]:
    return check_all(*content)


# ---- (a) a typo in next: is one error, with a guess, and no cascade ------------------------------------

def test_a_typo_in_next_is_one_line_with_a_guess_and_no_unreachable_steps(content):
    locales, flows, _ = content
    edit(flows / "health.yaml", "    next: topics\n", "    next: topcis\n")
    problems = problems_of(content)
    assert problems == [f"{flows / 'health.yaml'}:10: step 'numbers' goes to 'topcis', which is not a step of "
                        f"this flow; did you mean 'topics'?"]


def test_a_link_to_nowhere_without_a_guess_is_still_one_error(content):
    _, flows, _ = content
    edit(flows / "health.yaml", "    next: topics\n", "    next: zzz\n")
    problems = problems_of(content)
    assert len(problems) == 1 and "goes to 'zzz'" in problems[0] and "did you mean" not in problems[0]


def test_a_truly_unreachable_step_is_still_reported(content):
    _, flows, _ = content
    edit(flows / "health.yaml", "      - {id: mother, label: health.mother_after_birth, next: mother}\n", "")
    problems = problems_of(content)
    assert len(problems) == 1 and "step 'mother' can never be reached from 'numbers'" in problems[0]



def test_a_typo_in_a_field_name_is_one_error_with_a_guess(content):
    _, flows, _ = content
    edit(flows / "health.yaml", "    next: topics\n", "    nxet: topics\n")
    assert problems_of(content) == [f"{flows / 'health.yaml'}:10: steps.numbers: 'nxet' is not a field here "
                                    f"(flows/README.md lists the fields of each step type); did you mean 'next'?"]

# ---- (b) bad indentation is a YAML structure problem at its line ----------------------------------------

def test_bad_indentation_is_a_structure_problem_at_its_line_not_a_missing_flow(content):
    _, flows, _ = content
    edit(flows / "nursery.yaml", "\n  working:\n", "\n working:\n")
    problems = problems_of(content)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{flows / 'nursery.yaml'}:12: YAML structure problem")
    assert "indentation" in problems[0] and "does not exist" not in problems[0]


def test_a_step_indented_inside_another_is_named_as_such(content):
    _, flows, _ = content
    text = (flows / "nursery.yaml").read_text(encoding="utf-8").split("\n")
    text[17:23] = ["  " + line for line in text[17:23]]                 # `check:` and its body
    (flows / "nursery.yaml").write_text("\n".join(text), encoding="utf-8")
    problems = problems_of(content)
    assert problems == [f"{flows / 'nursery.yaml'}:18: step 'check' is indented inside 'steps.working': YAML "
                        f"structure problem. Start it at the same column as the other steps (2 spaces under "
                        f"`steps:`)"]


# ---- (c) Japanese or English ------------------------------------------------------------------------------

@pytest.mark.parametrize("env, expected", [
    ({"BOT_ADMIN_LANGUAGE": "ja"}, "ja"),
    ({"BOT_ADMIN_LANGUAGE": "en", "LANG": "ja_JP.UTF-8"}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LC_ALL": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),
    ({"LC_ALL": "C.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"),
    ({}, "en"),
])
def test_admin_language_comes_from_the_setting_or_the_system_locale(env, expected):
    assert admin_language(env) == expected


def test_every_admin_message_exists_in_english_and_japanese_with_the_same_placeholders():
    catalog = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    placeholder = re.compile(r"(?<!\{)\{(\w+)\}")
    for key, texts in catalog.items():
        assert set(texts) == {"en", "ja"}, key
        assert set(placeholder.findall(texts["ja"])) <= set(placeholder.findall(texts["en"])), key
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", texts["ja"]), key      # really Japanese


def test_flows_check_speaks_japanese_to_a_japanese_admin(content, monkeypatch):
    monkeypatch.setenv("BOT_ADMIN_LANGUAGE", "ja")
    _, flows, _ = content
    edit(flows / "health.yaml", "    next: topics\n", "    next: topcis\n")
    assert problems_of(content) == [f"{flows / 'health.yaml'}:10: ステップ 'numbers' の行き先 'topcis' はこのフローの"
                                    f"ステップではありません。'topics' の書き間違いではありませんか?"]


@pytest.mark.slow
def test_resources_check_command_in_japanese_from_the_system_locale(tmp_path):
    root = write_resources(tmp_path / "resources")
    edit(root / "entries" / "toshima-ku.yaml", "    phone: 03-3981-1111\n", "    phone: 03-3981-111\n")
    env = {"PATH": "/usr/bin:/bin", "LANG": "ja_JP.UTF-8", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "bot", "resources", "check", "--dir", str(root)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert done.returncode == 1
    assert "電話番号 '03-3981-111' は 9 桁です" in done.stdout
    assert "エラー 1 件" in done.stderr and "error(s)" not in done.stderr


# ---- (d) did you mean, for every kind of id --------------------------------------------------------------

def test_did_you_mean_for_a_flow_id(content):
    _, flows, _ = content
    edit(flows / "main_menu.yaml", "flow: nursery}", "flow: nursry}")
    [problem] = problems_of(content)
    assert "opens flow 'nursry', which does not exist in flows/; did you mean 'nursery'?" in problem


def test_did_you_mean_for_a_text_key_in_a_flow_and_in_a_locale_file(content):
    locales, flows, _ = content
    edit(flows / "nursery.yaml", "text: nursery.ask_working", "text: nursery.ask_workng")
    edit(locales / "vi.yaml", "\nmenu:\n", "\nmenu:\n  persn: Nói chuyện với nhân viên\n")
    problems = "\n".join(problems_of(content))
    assert "text 'nursery.ask_workng' is not in locales/en.yaml" in problems
    assert "did you mean 'nursery.ask_working'?" in problems
    assert "'menu.persn' is not in en.yaml; did you mean 'menu.person'?" in problems


def test_did_you_mean_for_a_resource_id_in_a_flow_and_in_a_text_file(content, tmp_path):
    _, flows, _ = content
    edit(flows / "nursery.yaml", "ids: [nursery-school-application]", "ids: [nursery-school-aplication]")
    [problem] = problems_of(content)
    assert "resource 'nursery-school-aplication' is not in resources/entries; did you mean " \
           "'nursery-school-application'?" in problem
    from bot.resources.check import check_resources
    root = write_resources(tmp_path / "small")
    edit(root / "text" / "vi.yaml", "  toshima-desk:\n", "  toshima-dsk:\n")
    found = [str(p) for p in check_resources(root) if "toshima-dsk" in str(p)]
    assert len(found) == 1 and "did you mean 'toshima-desk'?" in found[0]


def test_did_you_mean_for_a_triage_signal(content):
    _, flows, _ = content
    rules = flows / "triage" / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    signal = re.search(r"when: \[\[?([a-z-]+)", text).group(1)
    edit(rules, f"when: [[{signal}" if f"when: [[{signal}" in text else f"when: [{signal}",
         (f"when: [[{signal}x" if f"when: [[{signal}" in text else f"when: [{signal}x"))
    problems = [p for p in problems_of(content) if f"{signal}x" in p]
    assert problems and f"did you mean '{signal}'?" in problems[0]


def test_a_broken_entries_file_is_one_error_not_one_per_text(tmp_path):
    from bot.resources.check import check_resources
    root = write_resources(tmp_path / "resources")
    edit(root / "entries" / "national.yaml", "  category: birth\n", "  category birth\n   oops: [\n")
    found = [str(p) for p in check_resources(root) if not p.warning]
    assert len(found) == 1 and "national.yaml" in found[0] and "YAML structure problem" in found[0]


# ---- (e) hot reload -----------------------------------------------------------------------------------

def test_a_good_edit_goes_live_without_a_message_and_reuses_the_unchanged_index(content, tmp_path):
    locales, flows, resources = content
    registry = ContentRegistry(locales, flows, resources, cache=private_cache(tmp_path))   # a watcher thread
    before = registry.current()
    edit(locales / "en.yaml", "  prompt: What do you need help with?", "  prompt: How can we help you today?")
    # No further call to current(): the watcher alone must notice the edit. 60 s is a generous bound
    # for a loaded CI machine; the reload itself reuses the index and the triage rules.
    after = registry.wait_for_change(before.version, timeout_s=60)
    assert after.catalog.text("en", "menu.prompt").startswith("How can we help you today?")
    assert after.index is before.index and after.triage_rules is before.triage_rules


def test_an_edit_of_the_index_reloads_the_index(content, tmp_path):
    locales, flows, resources = content
    registry = ContentRegistry(locales, flows, resources, cache=private_cache(tmp_path))
    before = registry.current()
    edit(resources / "entries" / "toshima-ku.yaml", "last_verified: '2026-02-01'", "last_verified: '2026-03-01'")
    after = registry.wait_for_change(before.version, timeout_s=120)
    assert after.index is not before.index
    assert after.catalog is before.catalog and after.triage_rules is before.triage_rules    # unchanged: reused
