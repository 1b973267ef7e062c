"""Routing (triage first, then the index) and `python -m bot eval-faq`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import bot.dialogue.routing as routing
from bot.cli import main as cli
from bot.dialogue.evaluation import Outcome, summarise
from bot.dialogue.routing import route_text
from bot.dialogue.triage import NO_MATCH, TriageResult

REPO = Path(__file__).resolve().parents[2]
EVAL_DEV = REPO / "eval" / "dev.yaml"


@pytest.fixture(scope="module")
def index(shipped_index):
    return shipped_index


@pytest.fixture(scope="module")
def rules(shipped_triage_rules):
    return shipped_triage_rules


def _triage_says(monkeypatch, level: str, resource_ids=(), topic=None):
    result = TriageResult(level=level, category="x", topic=topic, resource_ids=tuple(resource_ids), matched=("r",))
    monkeypatch.setattr(routing, "triage", lambda text, rules: result)
    return result


# ---- route_text ------------------------------------------------------------------------------------

def test_emergency_comes_before_search_with_the_numbers(index, rules):
    route = route_text("my baby is not breathing!!", "en", triage_rules=rules, index=index)
    assert route.kind == "emergency"
    assert "emergency-119" in route.entry_ids


def test_emergency_without_named_resources_still_shows_119(monkeypatch, index):
    _triage_says(monkeypatch, "emergency")
    route = route_text("anything", "en", triage_rules=object(), index=index)
    assert (route.kind, route.entry_ids, route.topic) == ("emergency", ("emergency-119",), "living")


def test_crisis_shows_the_hotlines_and_drops_unknown_ids(monkeypatch, index):
    _triage_says(monkeypatch, "crisis", ["dv-consultation", "no-such-entry"], topic="violence")
    route = route_text("anything", "en", triage_rules=object(), index=index)
    assert (route.kind, route.entry_ids, route.topic) == ("crisis", ("dv-consultation",), "violence")


def test_advisor_hands_off_with_what_the_index_knows(monkeypatch, index):
    _triage_says(monkeypatch, "advisor", topic="medical")
    route = route_text("#8000 kodomo iryo denwa soudan children night phone", "en", triage_rules=object(),
                       index=index)
    assert route.kind == "handoff" and route.topic == "medical"
    assert route.entry_ids[:1] == ("pediatric-call-8000",)


def test_no_triage_match_searches(monkeypatch, index):
    monkeypatch.setattr(routing, "triage", lambda text, rules: NO_MATCH)
    answered = route_text("jido teate how much per month", "en", triage_rules=object(), index=index)
    assert answered.kind == "answer" and answered.entry_ids == ("child-allowance",) and answered.topic is None
    assert route_text("zzqx vbnm", "en", triage_rules=object(), index=index).kind == "not_found"


def test_handoff_recommended_entry_is_still_answered(monkeypatch, index):
    monkeypatch.setattr(routing, "triage", lambda text, rules: NO_MATCH)
    assert index.get("technical-intern-pregnancy").handoff_recommended
    route = route_text("technical intern trainee jisshusei pregnant, will I be sent home", "en",
                       triage_rules=object(), index=index)
    assert route.kind in {"answer", "suggest"} and route.entry_ids[0] == "technical-intern-pregnancy"


# ---- figures -----------------------------------------------------------------------------------------

def _outcome(expected, predicted, kind="answer", emergency=False, also=()):
    return Outcome(id="q", lang="en", text="t", expected=expected, acceptable=frozenset([expected, *also]),
                   emergency=emergency, kind=kind, predicted=predicted)


def test_summary_figures():
    outcomes = [
        _outcome("a", "a"),
        _outcome("b", "handoff", kind="handoff"),                                # false handoff
        _outcome("c", "handoff", kind="handoff", also=("handoff",)),             # acceptable: not false
        _outcome("handoff", "handoff", kind="emergency", emergency=True),
        _outcome("handoff", "handoff", kind="crisis", emergency=True),           # handed off, not as emergency
        _outcome("handoff", "d"),
    ]
    summary = summarise(outcomes)
    assert summary["top1_accuracy"] == round(4 / 6, 4)
    assert summary["handoff_recall"] == round(2 / 3, 4)
    assert summary["emergency_recall"] == 0.5
    assert summary["false_handoff_rate"] == 0.5
    assert summary["by_language"]["en"]["questions"] == 6
    assert [r["correct"] for r in summary["results"]] == [True, False, True, True, True, False]


def test_eval_command_json_on_a_small_set(tmp_path, capsys):
    questions = {"questions": [
        {"id": "a1", "lang": "ja-Hira", "text": "ほいくえんに はいりたい もうしこみ", "expected": "nursery-school-application"},
        {"id": "a2", "lang": "en", "text": "my baby is not breathing", "expected": "handoff", "emergency": True,
         "also_acceptable": ["emergency-119"]},
    ]}
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump(questions, allow_unicode=True), encoding="utf-8")
    assert cli(["eval-faq", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"top1_accuracy", "handoff_recall", "emergency_recall", "false_handoff_rate", "results"}
    assert [(r["id"], r["predicted"], r["correct"]) for r in out["results"]] == [
        ("a1", "nursery-school-application", True), ("a2", "handoff", True)]
    assert out["emergency_recall"] == 1.0


def test_eval_command_text_report(tmp_path, capsys):
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump({"questions": [
        {"id": "b1", "lang": "en", "text": "jido teate how much", "expected": "child-medical-subsidy"}]}),
        encoding="utf-8")
    assert cli(["eval-faq", str(path)]) == 0
    out = capsys.readouterr().out
    assert "top-1 accuracy:     0.0%" in out and "b1 [en] expected child-medical-subsidy, got child-allowance" in out


@pytest.mark.skipif(not EVAL_DEV.exists(), reason="shared development question set not present")
def test_development_set_meets_the_targets(index, rules):
    from bot.dialogue.evaluation import evaluate, load_questions
    summary = summarise(evaluate(load_questions(EVAL_DEV), index, rules))
    assert summary["top1_accuracy"] >= 0.90
    assert summary["emergency_recall"] == 1.0
    assert summary["false_handoff_rate"] <= 0.05
