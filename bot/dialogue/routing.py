"""Where one free-text message goes: safety first, then the resource index.

Shared by the live bot and `python -m bot eval-faq`, so what is measured is what runs.

Two layers decide, each readable on its own:
- `assess`: the admin's triage rules first; then the learned classifier (bot/dialogue/classifier.py) may
  RAISE the level (none → crisis → emergency) when it is confident. It never lowers one. Used by
  both `route_text` and the SafetyResponder, so the live bot and the evaluation agree.
- `route_text`: an urgent level goes to the safety answer; otherwise the BM25 search and the
  classifier's entry scores are fused into one ranking.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.dialogue.triage import LEVEL_RANK, NO_MATCH, LatestCall, TriageResult, matching_signals, triage

if TYPE_CHECKING:
    from bot.ports import Classifier, Translator
    from bot.resources.model import ResourceIndex
    from bot.resources.search import SearchResult

TRIAGE_KINDS = {"emergency": "emergency", "crisis": "crisis", "advisor": "handoff"}
# Shown with an emergency even when the triage rule names no resource: the numbers save lives.
EMERGENCY_FALLBACK_IDS = ("emergency-119",)
MAX_SHOWN = 3

# ---- the classifier as a second safety net -----------------------------------------------------
# Probability the classifier must give to the emergency (resp. crisis) labels together before it
# raises the rules' level. Chosen on cross-validation of training/ (tools/classifier_cv.py, fold 0
# of 3,768 held-back training messages, five blind batches): 0.3 / 0.2 / 0.15 / 0.1 catch 96.1 /
# 97.2 / 97.4 / 97.9 % of the emergencies and raise 13.2 / 13.9 / 14.5 / 15.6 % of the
# calm-but-alarming questions; a missed emergency is the worse error, and below 0.15 the calm
# questions handed to a person pass 7.5 %.
RAISE_EMERGENCY_AT = 0.15
RAISE_CRISIS_AT = 0.4
# When the rules already read the message as a calm health question (level guide: a symptom, no
# danger sign), the classifier needs more to call it an emergency: at 0.2 a child's fever of 39 at
# night "but playing" got the 119 answer. Chosen on eval/dev3 (0.2 -> 0.5: calm questions made
# emergencies 11.8 -> 9.7 %, no emergency lost; 0.6 loses one); the guide answer itself gives
# #8000 / #7119 and the signs that mean 119.
RAISE_EMERGENCY_OVER_GUIDE_AT = 0.5
# Classifier label → the rules' (level, category) whose resources and topic it borrows; the
# admin's rules.yaml stays the one place that says which numbers go with which danger.
RAISED_AS = {
    "emergency-119": ("emergency", "adult-medical"),
    "emergency-110": ("emergency", "violence"),
    "crisis-dv": ("crisis", "dv"),
    "crisis-child-abuse": ("crisis", "child-abuse"),
    "crisis-suicidal": ("crisis", "suicidal"),
    "crisis-mental-distress": ("crisis", "suicidal"),
    "crisis-overstay-deportation": ("crisis", "deportation"),
    "crisis-exploitation": ("crisis", "exploitation"),
    "crisis-threat": ("crisis", "dv"),
}
# An advisor rule marked `questions: answer` gives way to the index answer (with a person
# offered) when the classifier gives the ordinary and calm labels together at least this much.
ANSWER_QUESTION_AT = 0.7
RAISED_TEXT_CATEGORY = {"emergency-119": "general", "crisis-threat": "general", "crisis-mental-distress": "suicidal"}

# ---- fusing the search and the classifier for routing ------------------------------------------
# fused = BM25_SHARE x (BM25 score / best BM25 score) + (1 - BM25_SHARE) x classifier probability.
# Chosen on cross-validation (training/README.md): 0.35 > 0.2 > 0.5 > 0 by < 1 point of top-1.
BM25_SHARE = 0.35
# The classifier alone answers (rather than suggests) when it is this sure and the fusion agrees.
CLASSIFIER_ANSWER_AT = 0.6
# Below both this probability and the search's own "nothing" decision, nothing is found.
CLASSIFIER_SUGGEST_AT = 0.25
SUGGEST_RELATIVE = 0.5


@dataclass(frozen=True)
class Route:
    kind: str                   # "emergency" | "crisis" | "handoff" | "guide" | "answer" | "suggest" | "not_found"
    triage: TriageResult
    # answer: the one entry; suggest: up to 3; emergency/crisis/handoff/guide: entries to show
    entry_ids: tuple[str, ...]
    topic: str | None           # case topic when handing off


# ---- assessment: rules, then the classifier may raise --------------------------------------------

def signals_in(text: str, rules) -> list[str]:
    """The triage signals the admin's terms recognise in the text (features of the classifier)."""
    signals = getattr(rules, "signals", None)
    if not signals or not text:
        return []
    # The same matches the triage of this text worked out (each signal is matched once per text).
    return matching_signals(text, rules)


_classified: LatestCall[dict] = LatestCall()


def classify(text: str, rules, classifier: Classifier) -> dict:
    # A turn classifies its message twice (the safety check, then the answer's routing).
    return dict(_classified.get(text, (rules, classifier), lambda: classifier.predict(text, signals_in(text, rules))))


def assess(text: str, rules, classifier: Classifier | None = None, trace: dict | None = None,
           scores: dict | None = None) -> TriageResult:
    """The triage level of one message. ``scores``: the classifier's prediction when the caller
    already has it; ``trace`` (a dict) collects what decided, for `chat --explain`."""
    result = triage(text, rules) if rules is not None else NO_MATCH
    if trace is not None:
        trace["rules"] = {"level": result.level, "category": result.category, "matched": list(result.matched)}
    if classifier is None or result.level == "emergency":
        return result
    scores = scores or classify(text, rules, classifier)
    triage_scores = scores["triage"]
    if _asked_about(result, rules, triage_scores):
        result = _as_question(result)
    raised = _raised_level(triage_scores, result.level)
    if trace is not None:
        trace["classifier_triage"] = [(label, round(p, 3)) for label, p in triage_scores.top(4)]
    if raised is None or LEVEL_RANK[raised[0]] >= LEVEL_RANK.get(result.level, len(LEVEL_RANK)):
        return result
    return _raise(result, raised, rules)


def _asked_about(result: TriageResult, rules, scores) -> bool:
    """A calm question about a hard subject ("can I see a doctor without a visa?", "I missed the
    baby's 30 days, can it still be done?"): every advisor rule that matched allows it (`questions: answer`
    in rules.yaml) and the classifier is sure the message is a question, not distress. Advisor
    rules only: the classifier never lowers an emergency or a crisis (the check refuses it)."""
    if result.level != "advisor":
        return False
    by_id = {rule.id: rule for rule in getattr(rules, "rules", ())}
    deciding = [by_id[rule_id] for rule_id in result.matched if rule_id in by_id and by_id[rule_id].level == "advisor"]
    if not deciding or any(rule.questions != "answer" for rule in deciding):
        return False
    return scores.get("ordinary") + scores.get("calm") >= ANSWER_QUESTION_AT


def _as_question(result: TriageResult) -> TriageResult:
    """Answered from the index like any question; the matched rules stay in the trace."""
    return TriageResult(level="none", category=None, topic=None, resource_ids=result.resource_ids,
                        matched=(*result.matched, "classifier:question"))


def _raised_level(scores, rules_level: str | None = None) -> tuple[str, str] | None:
    """(level, classifier label) the classifier is sure enough of, or None."""
    emergency_at = RAISE_EMERGENCY_OVER_GUIDE_AT if rules_level == "guide" else RAISE_EMERGENCY_AT
    for level, prefix, threshold in (("emergency", "emergency-", emergency_at),
                                     ("crisis", "crisis-", RAISE_CRISIS_AT)):
        if scores.share(prefix) >= threshold:
            label = next(label for label, _ in scores.ranked if label.startswith(prefix))
            return level, label
    return None


def _raise(result: TriageResult, raised: tuple[str, str], rules) -> TriageResult:
    level, label = raised
    rule_level, category = RAISED_AS.get(label, (level, "general"))
    rule = next((r for r in getattr(rules, "rules", ()) if r.level == rule_level and r.category == category), None)
    resource_ids = tuple(rule.resource_ids) if rule else (EMERGENCY_FALLBACK_IDS if level == "emergency" else ())
    # Anything the rules had already found (an advisor's hints) stays shown after the numbers.
    resource_ids += tuple(r for r in result.resource_ids if r not in resource_ids)
    return TriageResult(level=level, category=RAISED_TEXT_CATEGORY.get(label, category),
                        topic=rule.topic if rule else result.topic, resource_ids=resource_ids,
                        matched=(*result.matched, f"classifier:{label}"))


# ---- routing ---------------------------------------------------------------------------------------

def route_text(text: str, locale: str, *, triage_rules, index: ResourceIndex,
               municipality: str | None = None, pivot_text: str | None = None,
               classifier: Classifier | None = None, trace: dict | None = None) -> Route:
    scores = classify(text, triage_rules, classifier) if classifier is not None else None
    if trace is not None:
        trace["signals"] = signals_in(text, triage_rules)
    result = assess(text, triage_rules, classifier, trace, scores)     # triage reads every word, names too
    asked, named = index.place_apart(text)
    municipality = municipality or named        # her own municipality, else the one she names
    if asked != text:
        pivot_text = index.without_place_names(pivot_text)[0] if pivot_text else None
        if trace is not None:
            trace["place"] = {"municipality": municipality, "asked": asked}
    if result.level in TRIAGE_KINDS:
        return _safety_route(result, asked, locale, index, municipality, pivot_text)
    if result.is_calm_question:
        return _calm_question_route(result, asked, locale, index, municipality, pivot_text)
    found = index.search(asked, locale, municipality=municipality, pivot_text=pivot_text)
    if trace is not None:
        trace["search"] = {"decision": found.decision, "coverage": round(found.coverage, 3),
                           "ranked": [(c.entry_id, c.score) for c in found.ranked[:5]]}
    if scores is not None:
        if asked != text and classifier is not None:
            scores = classify(asked, triage_rules, classifier)      # what she asks, not where she lives
        found = fuse(found, scores["route"], index, municipality, asked, trace, named=named)
    ids = tuple(candidate.entry_id for candidate in found.candidates)
    if found.decision == "answer":
        # An entry marked handoff_recommended is still answered: it is background the parent
        # can use while the answering code offers a person.
        return Route("answer", result, ids[:1], None)
    if found.decision == "suggest":
        return Route("suggest", result, ids[:MAX_SHOWN], None)
    return Route("not_found", result, (), None)


def explain(text: str, locale: str, *, triage_rules, index: ResourceIndex, municipality: str | None = None,
            classifier: Classifier | None = None) -> dict:
    """What decided a message's route, for `python -m bot chat --explain`: the signals the terms
    found, the rules that matched, the classifier's scores, the search's and the fused candidates."""
    trace: dict = {}
    route = route_text(text, locale, triage_rules=triage_rules, index=index, municipality=municipality,
                       classifier=classifier, trace=trace)
    trace["route"] = {"kind": route.kind, "entry_ids": list(route.entry_ids), "matched": list(route.triage.matched)}
    return trace


def fuse(found: SearchResult, route_scores, index: ResourceIndex, municipality: str | None, text: str,
         trace: dict | None = None, named: str | None = None) -> SearchResult:
    """One ranking from the search's scores and the classifier's probabilities; `named`: the
    municipality the message names (its own page first, `_local_first`)."""
    from bot.resources.search import Candidate, SearchResult
    best = found.ranked[0].score if found.ranked else 0.0
    bm25 = {c.entry_id: c.score / best for c in found.ranked} if best > 0 else {}
    top = [(label, p) for label, p in route_scores.top(10) if index.has(label)]
    places = index.engine.place_factors([label for label, _ in top], municipality, text) if index.engine else {}
    learned = {label: p * places.get(label, 1.0) for label, p in top}
    fused = {entry_id: BM25_SHARE * bm25.get(entry_id, 0.0) + (1 - BM25_SHARE) * learned.get(entry_id, 0.0)
             for entry_id in set(bm25) | set(learned)}
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    if trace is not None:
        trace["classifier_route"] = [(label, round(p, 3)) for label, p in route_scores.top(5)]
        trace["fused"] = [(entry_id, round(score, 3)) for entry_id, score in ranked[:5]]
    if not ranked or ranked[0][1] <= 0:
        return found
    top_id, top = ranked[0]
    candidates = tuple(Candidate(entry_id, round(score, 3)) for entry_id, score in ranked[:MAX_SHOWN]
                       if score >= SUGGEST_RELATIVE * top)
    top_p = learned.get(top_id, 0.0)
    search_agrees = found.decision == "answer" and found.candidates and found.candidates[0].entry_id == top_id
    candidates = _local_first(candidates, index.local_version(top_id, named), trace)
    if search_agrees or top_p >= CLASSIFIER_ANSWER_AT:
        decision = "answer"
        candidates = candidates[:1]
    elif found.decision == "none" and max(learned.values(), default=0.0) < CLASSIFIER_SUGGEST_AT:
        return found
    else:
        decision = "suggest"
    return SearchResult(decision, candidates, found.coverage, found.margin, found.ranked)


def _local_first(candidates: tuple, local: str | None, trace: dict | None) -> tuple:
    """The named municipality's version of the best entry in its place, the rest after it
    (`ResourceIndex.local_version`): the admin declared it the local version (`localizes:`), so
    "where do I get the boshi techo in Matsudo?" gets Matsudo's page, and "Matsudo foreigners'
    desk" Matsudo's desk, not Toshima's. Only for a place the message names: a parent of Toshima
    who asks "what is FRESC's number?" is asking about FRESC."""
    if local is None:
        return candidates
    from bot.resources.search import Candidate
    if trace is not None:
        trace["local_first"] = local
    score = next((c.score for c in candidates if c.entry_id == local), candidates[0].score if candidates else 0.0)
    return (Candidate(local, score), *(c for c in candidates if c.entry_id != local))[:MAX_SHOWN]


def _safety_route(result: TriageResult, text: str, locale: str, index: ResourceIndex,
                  municipality: str | None, pivot_text: str | None) -> Route:
    kind = TRIAGE_KINDS[result.level]
    shown = [entry_id for entry_id in result.resource_ids if index.has(entry_id)]
    if kind == "emergency" and not shown:
        shown = [entry_id for entry_id in EMERGENCY_FALLBACK_IDS if index.has(entry_id)]
    if kind == "handoff" and len(shown) < MAX_SHOWN:
        # A case for a person: what the index knows about the question helps while waiting.
        found = index.search(text, locale, municipality=municipality, pivot_text=pivot_text)
        if found.decision == "answer":
            shown += [c.entry_id for c in found.candidates if c.entry_id not in shown]
    return Route(kind, result, tuple(shown[:MAX_SHOWN]), result.topic or "living")


def _calm_question_route(result: TriageResult, text: str, locale: str, index: ResourceIndex,
                         municipality: str | None, pivot_text: str | None) -> Route:
    """Asking about danger, calmly: the rule's numbers first, then what the index answers
    (the vaccination entry for "mild redness after the shot"); no case."""
    shown = [entry_id for entry_id in result.resource_ids if index.has(entry_id)]
    found = index.search(text, locale, municipality=municipality, pivot_text=pivot_text)
    if found.decision == "answer":
        shown += [c.entry_id for c in found.candidates[:1] if c.entry_id not in shown]
    return Route("guide", result, tuple(shown[:MAX_SHOWN]), None)


# ---- the translation net -------------------------------------------------------------------------

# The classifier "understands" a message when it is this sure it is an ordinary or calm question
# about one entry; anything less, and a translation is worth one request.
UNDERSTOOD_SAFE_AT = 0.8
UNDERSTOOD_ROUTE_AT = 0.5


def understood_offline(text: str, rules, classifier: Classifier | None, language_hint=None,
                       scores: dict | None = None) -> bool:
    """Is the message clearly understood without a translation? Without a classifier: its language
    is clearly one of ours (bot/content/langdetect.py)."""
    if classifier is None:
        return bool(language_hint and language_hint(text))
    scores = scores or classify(text, rules, classifier)
    safe = scores["triage"].get("ordinary") + scores["triage"].get("calm")
    return safe >= UNDERSTOOD_SAFE_AT and scores["route"].ranked[0][1] >= UNDERSTOOD_ROUTE_AT


def assess_message(text: str, rules, classifier: Classifier | None = None, translate=None,
                   language_hint=None, trace: dict | None = None) -> TriageResult:
    """`assess`, plus a third net: a message not clearly understood offline is also assessed in
    its English translation (``translate(text) -> str | None``, at most one request). The offline
    result stands first: the translation can only raise the level, and an offline emergency is
    answered without waiting for it."""
    scores = classify(text, rules, classifier) if classifier is not None else None
    offline = assess(text, rules, classifier, trace, scores)
    if offline.level == "emergency" or translate is None \
            or understood_offline(text, rules, classifier, language_hint, scores):
        return offline
    translated = translate(text)
    if trace is not None:
        trace["translation"] = translated
    if not translated:
        return offline
    other = assess(translated, rules, classifier)
    if LEVEL_RANK.get(other.level, len(LEVEL_RANK)) >= LEVEL_RANK.get(offline.level, len(LEVEL_RANK)):
        return offline
    return TriageResult(level=other.level, category=other.category, topic=other.topic,
                        resource_ids=other.resource_ids,
                        matched=(*offline.matched, *(f"translation:{m}" for m in other.matched)))


class TurnTranslation:
    """The English translation of a turn's message, asked for at most once and shared by the
    safety check and the answers (the translator itself also caches in Redis)."""

    def __init__(self, translator: Translator):
        self._translator = translator
        self._done: dict[str, str | None] = {}

    def english(self, text: str) -> str | None:
        if text not in self._done:
            result = self._translator.translate(text, target="en", source=None)
            same = result.text.strip().casefold() == text.strip().casefold()
            self._done[text] = result.text if result.translated and not same else None
        return self._done[text]
