"""`python -m bot eval-faq FILE`: how well the bot routes a set of real-looking questions.

Every question goes through `bot.routing.route_text`, offline, exactly as the live bot routes a
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
    parser.add_argument("file", type=Path, help="question set, in the format of shared/content/eval_dev.yaml")
    parser.add_argument("--json", action="store_true", help="print the figures and every result as JSON")
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
    outcomes = evaluate(questions, index, rules, municipality=args.municipality)
    summary = summarise(outcomes)
    print(json.dumps(summary, ensure_ascii=False, indent=2) if args.json else render(summary, outcomes))
    return 0


def load_questions(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not questions:
        raise ValueError("no `questions:` list found")
    return questions


def _load_content(resources_dir: Path, triage_dir: Path):
    from bot.resources.loader import read_index
    from bot.triage import load_triage_rules
    index, problems, _ = read_index(resources_dir)
    if problems:
        # Measure anyway (the search falls back where texts are missing), but say the live bot
        # would refuse this index until it is fixed.
        print(f"warning: {len(problems)} problem(s) in {resources_dir}; run `python -m bot resources check`",
              file=sys.stderr)
    return index, load_triage_rules(triage_dir)


def evaluate(questions: list[dict], index, rules, municipality: str | None = None) -> list[Outcome]:
    from bot.routing import route_text
    outcomes = []
    for question in questions:
        lang = str(question["lang"])
        route = route_text(str(question["text"]), LANG_ALIASES.get(lang, lang), triage_rules=rules, index=index,
                           municipality=municipality)
        expected = str(question["expected"])
        outcomes.append(Outcome(
            id=str(question["id"]), lang=lang, text=str(question["text"]), expected=expected,
            acceptable=frozenset([expected, *map(str, question.get("also_acceptable") or [])]),
            emergency=bool(question.get("emergency")), kind=route.kind, predicted=_predicted(route)))
    return outcomes


def _predicted(route) -> str:
    if route.kind in HANDOFF_KINDS:
        return "handoff"
    return route.entry_ids[0] if route.entry_ids else "none"


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def summarise(outcomes: list[Outcome]) -> dict:
    """The figures; a "non-handoff question" is one where handing off is not an acceptable answer."""
    by_lang: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_lang[outcome.lang].append(outcome)
    return {
        "questions": len(outcomes),
        "top1_accuracy": _rate([o.correct for o in outcomes]),
        "handoff_recall": _rate([o.predicted == "handoff" for o in outcomes if o.expects_handoff]),
        "emergency_recall": _rate([o.kind == "emergency" for o in outcomes if o.emergency]),
        "false_handoff_rate": _rate([o.predicted == "handoff" for o in outcomes if not o.handoff_acceptable]),
        "by_language": {lang: {"questions": len(items), "top1_accuracy": _rate([o.correct for o in items])}
                        for lang, items in sorted(by_lang.items())},
        "results": [{"id": o.id, "lang": o.lang, "kind": o.kind, "predicted": o.predicted, "expected": o.expected,
                     "correct": o.correct} for o in outcomes],
    }


def render(summary: dict, outcomes: list[Outcome]) -> str:
    def pct(value):
        return "n/a" if value is None else f"{value * 100:.1f}%"
    lines = [f"questions:          {summary['questions']}",
             f"top-1 accuracy:     {pct(summary['top1_accuracy'])}   (target >= 90%)",
             f"handoff recall:     {pct(summary['handoff_recall'])}",
             f"emergency recall:   {pct(summary['emergency_recall'])}   (target 100%)",
             f"false handoff rate: {pct(summary['false_handoff_rate'])}   (target <= 5%)",
             "", f"{'language':10} {'questions':>9} {'top-1':>8}"]
    for lang, row in summary["by_language"].items():
        lines.append(f"{lang:10} {row['questions']:>9} {pct(row['top1_accuracy']):>8}")
    misses = [o for o in outcomes if not o.correct]
    if misses:
        lines += ["", "misses:"]
        lines += [f"  {o.id} [{o.lang}] expected {o.expected}, got {o.predicted} ({o.kind}): {o.text[:70]}"
                  for o in misses]
    return "\n".join(lines)
