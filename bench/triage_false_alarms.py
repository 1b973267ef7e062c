"""Safety triage figures: recall on the dev set's emergencies and handoffs, and false-alarm rates.

    python bench/triage_false_alarms.py            # figures
    python bench/triage_false_alarms.py --show     # also list every miss and every urgent false alarm

Recall (eval_dev.yaml):
  emergency recall  = emergency: true questions triaged "emergency"
  crisis recall     = handoff_reason dv / overstay-deportation / suicidal triaged crisis or higher
  advisor recall    = handoff_reason medical-symptoms / legal-dispute / labour-dispute triaged advisor or higher
False alarms:
  eval_dev questions that are neither emergency nor expected handoff, and the `examples:` of
  resources/text/*.yaml for entries that are not about safety (whatever files exist now).
  "urgent" = emergency or crisis (a hotline and a priority case); "any" also counts advisor (a case).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.dialogue.triage_rules import load_triage_rules  # noqa: E402
from bot.dialogue.triage import triage  # noqa: E402

EVAL_DEV = REPO / "eval" / "dev.yaml"
RANK = {"none": 0, "advisor": 1, "crisis": 2, "emergency": 3}
NEEDED = {"emergency": "emergency", "dv": "crisis", "overstay-deportation": "crisis", "suicidal": "crisis",
          "medical-symptoms": "advisor", "legal-dispute": "advisor", "labour-dispute": "advisor"}
# Entries whose examples are about danger, crisis or a person's judgement: alarms there are expected.
SAFETY_ENTRIES = {"emergency-119", "police-110", "pediatric-call-8000", "emergency-consult-7119", "dv-consultation",
                  "yorisoi-hotline", "mental-health-lines", "child-abuse-189-line", "houterasu-legal",
                  "no-status-healthcare", "baby-status-deadline-missed", "technical-intern-pregnancy",
                  "hospital-delivery-assistance", "amda-medical-info", "tokyo-himawari-medical-info"}


def pct(hit: int, total: int) -> str:
    return f"{hit}/{total} = {100.0 * hit / total:.1f}%" if total else "n/a (0 messages)"


def eval_figures(rules, show: bool) -> None:
    if not EVAL_DEV.exists():
        print(f"eval_dev: {EVAL_DEV} not found, skipped")
        return
    questions = yaml.safe_load(EVAL_DEV.read_text(encoding="utf-8"))["questions"]
    results = {q["id"]: triage(q["text"], rules) for q in questions}
    print(f"eval_dev.yaml ({len(questions)} questions)")
    for label, wanted in (("emergency", {"emergency"}), ("crisis", {"dv", "overstay-deportation", "suicidal"}),
                          ("advisor", {"medical-symptoms", "legal-dispute", "labour-dispute"})):
        group = [q for q in questions if q.get("handoff_reason") in wanted
                 or (label == "emergency" and q.get("emergency"))]
        need = {q["id"]: ("emergency" if q.get("emergency") else NEEDED[q["handoff_reason"]]) for q in group}
        hits = [q for q in group if RANK[results[q["id"]].level] >= RANK[need[q["id"]]]]
        print(f"  {label + ' recall':<18} {pct(len(hits), len(group))}")
        if show:
            for q in group:
                if q not in hits:
                    print(f"      MISSED {q['id']} [{q['lang']}] {results[q['id']].level}: {q['text']}")
    calm = [q for q in questions if not q.get("emergency") and q["expected"] != "handoff"]
    strict = [q for q in calm if "handoff" not in (q.get("also_acceptable") or [])]
    for label, group in (("neither emergency nor handoff", calm), ("  of which handoff not even acceptable", strict)):
        urgent = [q for q in group if results[q["id"]].is_urgent]
        anyl = [q for q in group if results[q["id"]].level != "none"]
        print(f"  false alarms, {label}: urgent {pct(len(urgent), len(group))}, any level {pct(len(anyl), len(group))}")
    if show:
        for q in calm:
            r = results[q["id"]]
            if r.level != "none":
                print(f"      ALARM {q['id']} [{q['lang']}] {r.level}/{r.category} {r.matched}: {q['text']}")


def example_figures(rules, show: bool) -> None:
    files = sorted((REPO / "resources" / "text").glob("*.yaml"))
    per_locale: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])        # messages, urgent, any
    safety = defaultdict(lambda: [0, 0, 0])                                 # entry -> messages, urgent, any
    alarms = []
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            print(f"  {path.name}: unreadable ({exc.__class__.__name__}), skipped")
            continue
        for entry_id, entry in (data.get("entries") or {}).items():
            for example in (entry or {}).get("examples") or []:
                if not isinstance(example, str):
                    continue
                result = triage(example, rules)
                bucket = safety[entry_id] if entry_id in SAFETY_ENTRIES else per_locale[path.stem]
                bucket[0] += 1
                bucket[1] += result.is_urgent
                bucket[2] += result.level != "none"
                if entry_id not in SAFETY_ENTRIES and result.is_urgent:
                    alarms.append((path.stem, entry_id, result, example))
    total = [sum(v[i] for v in per_locale.values()) for i in range(3)]
    print(f"resources/text examples ({len(files)} files), entries not about safety:")
    print(f"  false alarms: urgent {pct(total[1], total[0])}, any level {pct(total[2], total[0])}")
    for locale, (n, urgent, anyl) in sorted(per_locale.items()):
        print(f"    {locale:<8} urgent {pct(urgent, n):<18} any {pct(anyl, n)}")
    print("  safety entries (alarms expected; shown for information):")
    for entry_id, (n, urgent, anyl) in sorted(safety.items()):
        print(f"    {entry_id:<28} urgent {pct(urgent, n):<20} any {pct(anyl, n)}")
    if show:
        for locale, entry_id, result, example in alarms:
            print(f"      ALARM [{locale}] {entry_id}: {result.level}/{result.category} {result.matched}: {example}")


def speed(rules) -> None:
    messages = ["my baby is not breathing", "児童手当はいつもらえますか", "em hết visa rồi đang mang bầu",
                "how much is the childbirth lump sum and when do i get it paid to my account"] * 250
    start = time.perf_counter()
    for message in messages:
        triage(message, rules)
    per = (time.perf_counter() - start) / len(messages) * 1000
    print(f"speed: {per:.2f} ms per message (mean of {len(messages)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list misses and urgent false alarms")
    args = parser.parse_args()
    start = time.perf_counter()
    rules = load_triage_rules(REPO / "flows" / "triage")
    print(f"rules: {len(rules.rules)} rules, {len(rules.signals)} signals, loaded in "
          f"{time.perf_counter() - start:.2f} s")
    eval_figures(rules, args.show)
    example_figures(rules, args.show)
    speed(rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
