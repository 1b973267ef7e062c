"""`python -m bot eval-faq FILE`: how well the bot routes a set of real-looking questions.

Every question goes through `bot.dialogue.routing.route_text`, offline, exactly as the live bot routes a
free-text message. The file has the format of shared/content/eval_dev.yaml: `questions` with
id, lang, text, expected (a resource id or "handoff"), also_acceptable, emergency.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

HANDOFF_KINDS = {"emergency", "crisis", "handoff"}
CATEGORIES = ("emergency", "crisis", "calm", "ordinary")
LANG_ALIASES = {"ja-Hira": "ja-easy"}          # the question sets mark Easy Japanese with a script subtag


@dataclass(frozen=True)
class Outcome:
    id: str
    lang: str
    text: str
    expected: str
    acceptable: frozenset[str]
    emergency: bool
    kind: str
    predicted: str
    category: str = "ordinary"

    @property
    def correct(self) -> bool:
        return self.predicted in self.acceptable

    @property
    def expects_handoff(self) -> bool:
        return self.expected == "handoff"

    @property
    def handoff_acceptable(self) -> bool:
        return "handoff" in self.acceptable


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval-faq", help="measure question routing (answers, handoffs) on a question set")
    parser.add_argument("file", type=Path, help="question set (a file in the format of eval/dev.yaml, or a "
                                                "directory of such files)")
    parser.add_argument("--json", action="store_true", help="print the figures and every result as JSON")
    parser.add_argument("--no-text", action="store_true",
                        help="never print the messages (for the held-out split: figures and confusions only)")
    parser.add_argument("--no-classifier", action="store_true",
                        help="rules and search only, without the learned classifier (to compare)")
    parser.add_argument("--municipality", help="route as a user of this municipality (e.g. toshima-ku)")
    parser.add_argument("--resources", type=Path, default=PROJECT_ROOT / "resources", help=argparse.SUPPRESS)
    parser.add_argument("--triage", type=Path, default=PROJECT_ROOT / "flows" / "triage", help=argparse.SUPPRESS)
    parser.set_defaults(func=run_eval)


def run_eval(args) -> int:
    try:
        questions = load_questions(args.file)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"{args.file}: cannot read the question set: {exc}", file=sys.stderr)
        return 2
    index, rules = _load_content(args.resources, args.triage)
    classifier = None if args.no_classifier else _load_classifier()
    outcomes = evaluate(questions, index, rules, municipality=args.municipality, classifier=classifier)
    summary = summarise(outcomes)
    if args.no_text:
        for row in summary["results"]:
            row.pop("text", None)
    print(json.dumps(summary, ensure_ascii=False, indent=2) if args.json
          else render(summary, outcomes, show_text=not args.no_text))
    return 0


def load_questions(path: Path) -> list[dict]:
    paths = sorted(Path(path).glob("*.yaml")) if Path(path).is_dir() else [Path(path)]
    questions: list[dict] = []
    for one in paths:
        data = yaml.safe_load(one.read_text(encoding="utf-8"))
        found = data.get("questions") if isinstance(data, dict) else None
        if isinstance(found, list):
            questions += found
    if not questions:
        raise ValueError("no `questions:` list found")
    return questions


def _load_classifier():
    from bot.dialogue.classifier import load_classifier
    classifier = load_classifier()
    if classifier is None:
        print("note: no trained classifier (training/classifier.bin): rules and search only", file=sys.stderr)
    return classifier


def _load_content(resources_dir: Path, triage_dir: Path):
    """The index and triage rules to route with. The shipped ones come from the compiled content
    set the live bot loads (from the content cache when it holds them, as `chat` and the worker
    do; compiling the whole set costs seconds); other folders, or a shipped set the live bot
    would refuse, are read as they are."""
    if resources_dir == PROJECT_ROOT / "resources" and triage_dir == PROJECT_ROOT / "flows" / "triage":
        shipped = _shipped_content()
        if shipped is not None:
            return shipped.index, shipped.triage_rules
    return _read_content(resources_dir, triage_dir)


def _shipped_content():
    from bot.content.registry import ContentError, ContentRegistry
    registry = ContentRegistry(PROJECT_ROOT / "locales", PROJECT_ROOT / "flows", PROJECT_ROOT / "resources",
                               background=False)
    try:
        return registry.current()
    except ContentError:
        return None                   # measured anyway below, with the warning the live bot's refusal deserves


def _read_content(resources_dir: Path, triage_dir: Path):
    from bot.dialogue.triage_rules import load_triage_rules
    from bot.resources.loader import read_index
    index, problems, _ = read_index(resources_dir)
    if problems:
        # Measure anyway (the search falls back where texts are missing), but say the live bot
        # would refuse this index until it is fixed.
        print(f"warning: {len(problems)} problem(s) in {resources_dir}; run `python -m bot resources check`",
              file=sys.stderr)
    return index, load_triage_rules(triage_dir)


def evaluate(questions: list[dict], index, rules, municipality: str | None = None, classifier=None) -> list[Outcome]:
    from bot.content.zawgyi import to_unicode
    from bot.dialogue.routing import route_text
    outcomes = []
    for question in questions:
        lang = str(question["lang"])
        # As the live pipeline does before anything else (bot/pipeline/processing.py): Zawgyi becomes Unicode.
        route = route_text(to_unicode(str(question["text"])), LANG_ALIASES.get(lang, lang), triage_rules=rules,
                           index=index, municipality=municipality, classifier=classifier)
        expected = str(question["expected"])
        outcomes.append(Outcome(
            id=str(question["id"]), lang=lang, text=str(question["text"]), expected=expected,
            acceptable=frozenset([expected, *map(str, question.get("also_acceptable") or [])]),
            emergency=bool(question.get("emergency")), kind=route.kind, predicted=_predicted(route),
            category=category_of(question)))
    return outcomes


def category_of(question: dict) -> str:
    """emergency | crisis | calm | ordinary; sets without a category field: from the other fields."""
    if question.get("category") in CATEGORIES:
        return str(question["category"])
    if question.get("emergency"):
        return "emergency"
    return "crisis" if str(question.get("expected")) == "handoff" else "ordinary"


def _predicted(route) -> str:
    if route.kind in HANDOFF_KINDS:
        return "handoff"
    return route.entry_ids[0] if route.entry_ids else "none"


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def _figures(items: list[Outcome]) -> dict:
    return {
        "questions": len(items),
        "top1_accuracy": _rate([o.correct for o in items]),
        "emergency_recall": _rate([o.kind == "emergency" for o in items if o.emergency]),
        "false_handoff_rate": _rate([o.predicted == "handoff" for o in items if not o.handoff_acceptable]),
    }


def summarise(outcomes: list[Outcome]) -> dict:
    """The figures; a "non-handoff question" is one where handing off is not an acceptable answer."""
    by_lang: dict[str, list[Outcome]] = defaultdict(list)
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_lang[outcome.lang].append(outcome)
        by_category[outcome.category].append(outcome)
    return {
        "questions": len(outcomes),
        "top1_accuracy": _rate([o.correct for o in outcomes]),
        "handoff_recall": _rate([o.predicted == "handoff" for o in outcomes if o.expects_handoff]),
        "emergency_recall": _rate([o.kind == "emergency" for o in outcomes if o.emergency]),
        "false_handoff_rate": _rate([o.predicted == "handoff" for o in outcomes if not o.handoff_acceptable]),
        "by_language": {lang: _figures(items) for lang, items in sorted(by_lang.items())},
        "by_category": {category: _figures(by_category[category]) for category in CATEGORIES
                        if by_category.get(category)},
        "confusions": confusions(outcomes),
        "results": [{"id": o.id, "lang": o.lang, "kind": o.kind, "predicted": o.predicted, "expected": o.expected,
                     "correct": o.correct, "category": o.category} for o in outcomes],
    }


def confusions(outcomes: list[Outcome]) -> list[dict]:
    """What went wrong, as counts: category, expected → what the bot did (no message text)."""
    counts: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for o in outcomes:
        if o.category == "emergency" and o.kind != "emergency":
            counts[(o.category, "emergency", _did(o))].append(o.lang)
        elif not o.correct:
            counts[(o.category, o.expected, _did(o))].append(o.lang)
    rows = [{"category": c, "expected": e, "got": g, "count": len(langs), "languages": sorted(set(langs))}
            for (c, e, g), langs in counts.items()]
    return sorted(rows, key=lambda row: (CATEGORIES.index(row["category"]), -row["count"], row["expected"]))


def _did(o: Outcome) -> str:
    return f"handoff ({o.kind})" if o.predicted == "handoff" else f"{o.predicted} ({o.kind})"


def render(summary: dict, outcomes: list[Outcome], show_text: bool = True) -> str:
    def pct(value):
        return "n/a" if value is None else f"{value * 100:.1f}%"

    def row(name: str, figures: dict) -> str:
        return (f"{name:10} {figures['questions']:>9} {pct(figures['top1_accuracy']):>8} "
                f"{pct(figures['emergency_recall']):>10} {pct(figures['false_handoff_rate']):>9}")
    header = f"{'':10} {'questions':>9} {'top-1':>8} {'emergency':>10} {'to person':>9}"
    lines = [f"questions:          {summary['questions']}",
             f"top-1 accuracy:     {pct(summary['top1_accuracy'])}   (target >= 90%)",
             f"handoff recall:     {pct(summary['handoff_recall'])}",
             f"emergency recall:   {pct(summary['emergency_recall'])}   (target 100%)",
             f"false handoff rate: {pct(summary['false_handoff_rate'])}   (target <= 5%)",
             "", "per language (emergency = emergencies answered as emergencies; to person = questions handed "
                 "to a person although an answer was expected)", header.replace("          ", "language  ", 1)]
    lines += [row(lang, figures) for lang, figures in summary["by_language"].items()]
    lines += ["", header.replace("          ", "category  ", 1)]
    lines += [row(category, figures) for category, figures in summary["by_category"].items()]
    if summary["confusions"]:
        lines += ["", "confusions (category: expected -> got, count, languages):"]
        lines += [f"  {c['category']}: {c['expected']} -> {c['got']}  x{c['count']}  {' '.join(c['languages'])}"
                  for c in summary["confusions"]]
    misses = [o for o in outcomes if not o.correct]
    if misses and show_text:
        lines += ["", "misses:"]
        lines += [f"  {o.id} [{o.lang}] expected {o.expected}, got {o.predicted} ({o.kind}): {o.text[:70]}"
                  for o in misses]
    return "\n".join(lines)
