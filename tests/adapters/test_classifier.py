"""The learned layer: the shipped classifier, its fusion with the search, the safety net it adds,
the translation net, `classifier train|check`, `chat --explain` and the held-out floor.

The messages below were written for these tests from the kinds of misses described in issue 11;
none is taken from training/ or eval/.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import bot.dialogue.routing as routing
from bot.dialogue.classifier import MODEL_PATH, TextClassifier, load_classifier
from bot.dialogue.evaluation import evaluate, load_questions, summarise
from bot.dialogue.routing import assess, route_text
from bot.dialogue.triage import TriageResult
from bot.dialogue.triage_rules import load_triage_rules
from tests.conftest import REPO

HELDOUT = REPO / "eval" / "heldout"
# Just under the figures measured when this floor was set (docs/performance.md): a drop fails CI.
HELDOUT_TOP1_FLOOR = 0.92
HELDOUT_LANGUAGE_TOP1_FLOOR = 0.85       # issue 11: every language; 89.6 % (ne) when set
HELDOUT_EMERGENCY_FLOOR = 1.0            # issue 11: every emergency, in every language (170/170 when set)
HELDOUT_FALSE_HANDOFF_CEILING = 0.05     # 4.2 % when set
DEV2_EMERGENCY_FLOOR = 1.0
DEV3_CALM_TO_PERSON_CEILING = 0.08       # 5.9 % when set; 27.1 % before dev3 was read
DEV4_TOP1_FLOOR = 0.88                   # 86.3 % before dev4 was read, 90.3 % after
DEV4_TO_PERSON_CEILING = 0.08            # 8.6 % before, 7.0 % after
DEV5_TOP1_FLOOR = 0.85                   # place names: 82.8 % before they were taken apart, 87.3 % after


@pytest.fixture(scope="module")
def index(shipped_index):
    return shipped_index


@pytest.fixture(scope="module")
def rules(shipped_triage_rules):
    return shipped_triage_rules


@pytest.fixture(scope="module")
def classifier():
    model = load_classifier()
    assert model is not None, "training/classifier.bin is missing: run `python -m bot classifier train`"
    return model


def run(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True, timeout=900)


# ---- routing: the classifier fused with the search ----------------------------------------------------

@pytest.mark.parametrize("locale, text, entry_id", [
    ("hi", "bachhe ka zairyu card kaise banega", "baby-status-of-residence"),
    ("en", "how do i get money for giving birth", "childbirth-lump-sum"),
])
def test_everyday_wording_is_answered_where_the_search_alone_only_suggested(index, rules, classifier,
                                                                           locale, text, entry_id):
    alone = route_text(text, locale, triage_rules=rules, index=index)
    fused = route_text(text, locale, triage_rules=rules, index=index, classifier=classifier)
    assert alone.kind == "suggest"
    assert (fused.kind, fused.entry_ids) == ("answer", (entry_id,))


def test_nonsense_still_finds_nothing(index, rules, classifier):
    assert route_text("zzqx vbnm", "en", triage_rules=rules, index=index, classifier=classifier).kind == "not_found"


# ---- triage: a second net that can only raise -----------------------------------------------------------

# The rules (issue 11a) now catch the messages first used here (floor cleaner, "todas las
# pastillas", the head already out); these are blind training messages the rules still miss.
@pytest.mark.parametrize("locale, text", [
    ("es", "mi niño se comio mis pastillas del corazon, no se cuantas"),   # heart pills, how many unknown
    ("bn", "BACCHA PANI TE PORE GECHE"),                        # "the child fell into the water", capitals
    ("hi", "garam chai pura uske upar gir gayi, skin nikal rahi hai chhale"),   # scalded, romanised Hindi
    ("tl", "anak ko nanginginig tapos puti na mata"),         # "my child is shaking, eyes white"
])
def test_emergencies_the_rules_miss_are_raised_by_the_classifier(index, rules, classifier, locale, text):
    assert route_text(text, locale, triage_rules=rules, index=index).kind != "emergency"
    route = route_text(text, locale, triage_rules=rules, index=index, classifier=classifier)
    assert route.kind == "emergency" and "emergency-119" in route.entry_ids
    assert any(m.startswith("classifier:") for m in route.triage.matched)


class _Says:
    """A stand-in classifier with fixed triage probabilities (the real one is tested above)."""

    def __init__(self, **probabilities):
        from bot.dialogue.classifier import Scores
        ranked = tuple(sorted(probabilities.items(), key=lambda item: -item[1]))
        self.scores = {"triage": Scores(ranked), "route": Scores((("emergency-119", 1.0),))}

    def predict(self, text, signals=()):
        return self.scores


def test_the_classifier_never_lowers_what_the_rules_found(monkeypatch, rules):
    found = TriageResult("emergency", "child-medical", "medical", ("emergency-119",), ("child-life-threat",))
    monkeypatch.setattr(routing, "triage", lambda text, rules: found)
    assert assess("x", rules, _Says(ordinary=0.99, **{"emergency-119": 0.01})) is found
    crisis = TriageResult("crisis", "dv", "violence", ("dv-consultation",), ("dv",))
    monkeypatch.setattr(routing, "triage", lambda text, rules: crisis)
    assert assess("x", rules, _Says(ordinary=0.99, **{"crisis-dv": 0.01})) is crisis


def test_a_raise_borrows_the_numbers_of_the_admins_rule(monkeypatch, rules):
    monkeypatch.setattr(routing, "triage", lambda text, rules: routing.NO_MATCH)
    raised = assess("x", rules, _Says(ordinary=0.2, **{"emergency-110": 0.8}))
    assert (raised.level, raised.category) == ("emergency", "violence")
    assert raised.resource_ids[0] == "police-110"                # as rules.yaml's first violence rule
    below = routing.RAISE_EMERGENCY_AT - 0.1
    unsure = assess("x", rules, _Says(ordinary=1 - below, **{"emergency-119": below}))
    assert unsure.level == "none"


def test_the_safety_answer_uses_the_same_assessment(tmp_path):
    """The live path (SafetyResponder through the conversation) raises as route_text does."""
    from bot.commands.content import offline_settings
    from bot.pipeline.offline import OfflineBot
    bot = OfflineBot(offline_settings())
    emergency_text = bot.content.current().catalog.text("es", "danger.emergency.general")

    def answer(user: str) -> str:
        bot.choose_language(user, "es")
        bot.tap(user, "privacy:agree")
        return " ".join(m.get("text", "") for m in bot.say(user, "mi niño se comio mis pastillas del corazon, no se cuantas"))
    assert emergency_text in answer("Uclassifier-1")
    bot.extras["classifier"] = None                           # the rules alone would not have
    assert emergency_text not in answer("Uclassifier-2")


# ---- the model file -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_shipped_model_matches_the_yaml_it_was_trained_from():
    """Fails when training/, the index or the triage terms changed without retraining."""
    result = run("classifier", "check")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_check_and_flows_check_say_when_the_model_is_stale(tmp_path):
    shutil.copytree(REPO, tmp_path / "repo", ignore=shutil.ignore_patterns(".venv", ".git", "instance", "test-artifacts"))
    training = tmp_path / "repo" / "training" / "en.yaml"
    training.write_text(training.read_text(encoding="utf-8").replace("questions:", "questions:\n  fresc:\n"
                                                                     "    - \"a new line\"", 1), encoding="utf-8")
    check = run("classifier", "check", cwd=tmp_path / "repo")
    assert check.returncode == 1 and "classifier train" in check.stdout
    flows = run("flows", "check", cwd=tmp_path / "repo")
    assert flows.returncode == 0 and "warning: training/classifier.bin" in flows.stdout


@pytest.mark.slow
def test_training_is_reproducible(tmp_path):
    output = tmp_path / "model.bin"
    result = run("classifier", "train", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert output.read_bytes() == MODEL_PATH.read_bytes(), "same YAML, different model: training is not deterministic"


def test_model_file_round_trips(tmp_path, classifier):
    import numpy as np
    path = tmp_path / "m.bin"
    weights = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    header = {"buckets": 4, "digest": "d", "labels": {"route": ["a", "b"], "triage": ["ordinary"]}}
    TextClassifier.save(path, header, weights, np.zeros(3, dtype=np.float32))
    loaded = TextClassifier.load(path)
    assert loaded.labels == {"route": ["a", "b"], "triage": ["ordinary"]} and loaded.digest == "d"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="classifier train"):
        TextClassifier.load(path)


# ---- chat --explain and eval-faq -----------------------------------------------------------------------

@pytest.mark.slow
def test_chat_explain_prints_signals_rules_scores_and_candidates():
    result = run("chat", "--locale", "hi", "--explain", "bachhe ka zairyu card kaise banega")
    assert result.returncode == 0, result.stderr
    for line in ("signals", "rules (flows/triage/rules.yaml)", "classifier, triage", "search", "fused",
                 "= answer: baby-status-of-residence"):
        assert line in result.stdout


@pytest.mark.slow
def test_eval_on_a_folder_reports_categories_and_keeps_messages_hidden(tmp_path):
    (tmp_path / "a.yaml").write_text(
        'questions:\n- {id: t1, lang: es, text: "se tomo todas las pastillas", category: emergency, '
        'expected: handoff, emergency: true}\n', encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        'questions:\n- {id: t2, lang: en, text: "zzqx vbnm", category: ordinary, expected: fresc}\n',
        encoding="utf-8")
    result = run("eval-faq", str(tmp_path), "--no-text")
    assert result.returncode == 0, result.stderr
    assert "emergency" in result.stdout and "ordinary" in result.stdout and "confusions" in result.stdout
    assert "ordinary: fresc -> none (not_found)  x1  en" in result.stdout
    assert "zzqx" not in result.stdout and "pastillas" not in result.stdout


@pytest.mark.skipif(not HELDOUT.exists(), reason="held-out split not present")
def test_heldout_split_stays_above_the_floor(index, rules, classifier):
    """The CI floor on the blind held-out split (eval/heldout/README.md). Only figures are read."""
    summary = summarise(evaluate(load_questions(HELDOUT), index, rules, classifier=classifier))
    assert summary["emergency_recall"] >= HELDOUT_EMERGENCY_FLOOR
    assert summary["top1_accuracy"] >= HELDOUT_TOP1_FLOOR
    assert summary["false_handoff_rate"] <= HELDOUT_FALSE_HANDOFF_CEILING
    weak = {lang: figures["top1_accuracy"] for lang, figures in summary["by_language"].items()
            if figures["top1_accuracy"] < HELDOUT_LANGUAGE_TOP1_FLOOR}
    assert not weak, weak


def test_every_emergency_of_the_second_development_set_is_caught(index, rules, classifier):
    """eval/dev2 was written blind and its misses were read and fixed: none may come back."""
    summary = summarise(evaluate(load_questions(REPO / "eval" / "dev2"), index, rules, classifier=classifier))
    assert summary["emergency_recall"] >= DEV2_EMERGENCY_FLOOR


def test_the_third_development_set_keeps_every_emergency_and_few_calm_alarms(index, rules, classifier):
    """eval/dev3 (emergencies that do not sound like one, calm symptoms at night) was read and fixed:
    every emergency stays caught, and calm questions stay answered rather than handed to a person."""
    summary = summarise(evaluate(load_questions(REPO / "eval" / "dev3"), index, rules, classifier=classifier))
    assert summary["emergency_recall"] == 1.0
    assert summary["false_handoff_rate"] <= DEV3_CALM_TO_PERSON_CEILING


def test_the_fourth_development_set_keeps_every_emergency_and_its_answers(index, rules, classifier):
    """eval/dev4 (all 17 languages, mostly ordinary questions, like the issue's independent sets) was
    read and fixed: every emergency stays caught and the answers stay near what they were."""
    summary = summarise(evaluate(load_questions(REPO / "eval" / "dev4"), index, rules, classifier=classifier))
    assert summary["emergency_recall"] == 1.0
    assert summary["top1_accuracy"] >= DEV4_TOP1_FLOOR
    assert summary["false_handoff_rate"] <= DEV4_TO_PERSON_CEILING


def test_messages_naming_where_she_lives_keep_every_emergency_and_their_answers(index, rules, classifier):
    """eval/dev5 (blind: every message names Toshima or Matsudo, most ask about something else):
    the name never hides an emergency, and what she asks decides the answer."""
    summary = summarise(evaluate(load_questions(REPO / "eval" / "dev5"), index, rules, classifier=classifier))
    assert summary["emergency_recall"] == 1.0
    assert summary["top1_accuracy"] >= DEV5_TOP1_FLOOR


# ---- translation: the third net ----------------------------------------------------------------------

SWAHILI_EMERGENCY = "Mtoto wangu hapumui, midomo ni ya bluu"      # "my baby is not breathing, lips blue"


@pytest.fixture
def fake_translate():
    from bot.devtools.fake_translate import FakeTranslateServer
    server = FakeTranslateServer()
    yield server
    server.stop()


def _bot_with_translator(server, timeout_s: float = 2.0):
    """The offline bot with the real google-cloud-translate client as the safety net's translator."""
    from google.auth.credentials import AnonymousCredentials

    from bot.adapters.translate import CloudTranslator
    from bot.commands.content import offline_settings
    from bot.pipeline.offline import OfflineBot
    bot = OfflineBot(offline_settings())
    bot.extras["pivot_translator"] = CloudTranslator("demo", "global", api_endpoint=server.url,
                                                     credentials=AnonymousCredentials(), timeout_s=timeout_s)
    return bot


def _say(bot, user: str, text: str, locale: str = "en") -> str:
    bot.choose_language(user, locale)
    bot.tap(user, "privacy:agree")
    return " ".join(m.get("text", "") for m in bot.say(user, text))


def test_a_message_not_understood_offline_is_triaged_in_translation(fake_translate, index, rules, classifier):
    assert route_text(SWAHILI_EMERGENCY, "en", triage_rules=rules, index=index, classifier=classifier).kind != "emergency"
    bot = _bot_with_translator(fake_translate)
    catalog = bot.content.current().catalog
    said = _say(bot, "Uswahili-1", SWAHILI_EMERGENCY)
    assert any(catalog.text("en", f"danger.emergency.{category}") in said
               for category in ("general", "child-medical", "adult-medical")), said
    assert [r["contents"] for r in fake_translate.state.requests] == [[SWAHILI_EMERGENCY]], \
        "one translation request per message, shared by the safety check and the answers"


def test_the_translation_also_searches_with_a_single_request(fake_translate):
    bot = _bot_with_translator(fake_translate)
    said = _say(bot, "Uswahili-2", "Nahitaji msaada wa posho la mtoto kila mwezi", locale="vi")
    assert bot.content.current().index.text("child-allowance", "vi").title in said
    assert len(fake_translate.state.requests) == 1


def test_an_offline_emergency_never_waits_for_the_translator(fake_translate):
    fake_translate.state.failures.append({"hang": 5})
    bot = _bot_with_translator(fake_translate, timeout_s=0.5)
    said = _say(bot, "Uhang-1", "my baby is not breathing!!")
    assert "119" in said
    assert fake_translate.state.requests == [], "an emergency found offline makes no translation request"


def test_a_hanging_translator_still_gets_an_answer(fake_translate):
    fake_translate.state.failures.append({"hang": 5})
    bot = _bot_with_translator(fake_translate, timeout_s=0.5)
    said = _say(bot, "Uhang-2", "Nahitaji msaada wa posho la mtoto kila mwezi")
    assert said.strip(), "every parent gets an answer"
    assert len(fake_translate.state.requests) == 1


# ---- an advisor rule's calm question is answered (questions: answer) -----------------------------

@pytest.mark.parametrize("text,entry", [
    ("can a woman without a visa get a pregnancy checkup at a hospital?", "no-status-healthcare"),
    ("ビザがない人も病院で妊婦健診を受けられますか", "no-status-healthcare"),
    ("I missed the 30 days for my baby's visa, can it still be done?", "baby-status-deadline-missed"),
])
def test_a_calm_question_under_an_advisor_rule_is_answered_with_its_entry(index, rules, classifier, text, entry):
    route = route_text(text, "en", triage_rules=rules, index=index, classifier=classifier)
    assert route.kind in ("answer", "suggest") and entry in route.entry_ids, route
    assert "classifier:question" in route.triage.matched


def test_fear_of_deportation_is_never_lowered_by_the_classifier(index, rules, classifier):
    route = route_text("I overstayed my visa and I'm scared they will deport me and take my baby", "en",
                       triage_rules=rules, index=index, classifier=classifier)
    assert route.kind in ("crisis", "emergency"), route


def test_questions_answer_is_refused_on_a_crisis_rule(tmp_path):
    folder = tmp_path / "triage"
    shutil.copytree(REPO / "flows" / "triage", folder)
    rules_file = folder / "rules.yaml"
    text = rules_file.read_text(encoding="utf-8")
    rules_file.write_text(text.replace("  - id: deportation-fear\n", "  - id: deportation-fear\n    questions: answer\n"),
                          encoding="utf-8")
    with pytest.raises(Exception) as error:
        load_triage_rules(folder)
    assert "never lowers" in str(error.value.problems), error.value
