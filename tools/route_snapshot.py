"""A snapshot of what the content path decides for every known message, to prove a change of it
keeps every decision (issue 17: the triage, classifier and search made faster, not different).

    .venv/bin/python tools/route_snapshot.py OUT.json [--heldout]

Each message of training/*.yaml, eval/dev.yaml and eval/dev2..dev4 (with --heldout also
eval/heldout) goes through the shipped content as the worker loads it: the triage (level,
category, matched rules, resources), the signals the classifier sees, the classifier's scores,
the search, `route_text` with and without the classifier, and the flow its keywords start.
Messages are keyed by a hash of their text and no text is written or printed (heldout stays
unread by people); compare two snapshots byte for byte (`cmp`). Scores are rounded to 6 places.

The script runs itself with PYTHONHASHSEED=0: a message naming two municipalities ranks by the
first one found in a set of its features, whose order depends on the string hash seed (3 of
21,863 messages), so two runs with random seeds may differ without any change of code.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVAL_SETS = ("dev.yaml", "dev2", "dev3", "dev4")


def eval_messages(names) -> list[tuple[str, str]]:
    from bot.dialogue.evaluation import LANG_ALIASES, load_questions
    found = []
    for name in names:
        for question in load_questions(ROOT / "eval" / name):
            lang = str(question["lang"])
            found.append((str(question["text"]), LANG_ALIASES.get(lang, lang)))
    return found


def _scores(ranked, n: int = 5) -> list:
    return [[label, round(p, 6)] for label, p in ranked[:n]]


def _search(found) -> dict:
    return {"decision": found.decision, "coverage": round(found.coverage, 6), "margin": round(found.margin, 6),
            "candidates": [[c.entry_id, round(c.score, 6)] for c in found.candidates],
            "ranked": [[c.entry_id, round(c.score, 6)] for c in found.ranked]}


def _route(route) -> dict:
    return {"kind": route.kind, "entry_ids": list(route.entry_ids), "topic": route.topic,
            "level": route.triage.level, "matched": list(route.triage.matched)}


def snapshot_of(text: str, locale: str, content, classifier, flow_for_keywords) -> dict:
    from bot.dialogue.routing import assess, classify, route_text, signals_in
    from bot.dialogue.triage import triage
    rules, index = content.triage_rules, content.index
    result = triage(text, rules)
    scores = classify(text, rules, classifier)
    return {
        "triage": {"level": result.level, "category": result.category, "topic": result.topic,
                   "resource_ids": list(result.resource_ids), "matched": list(result.matched)},
        "signals": signals_in(text, rules),
        "classifier": {"route": _scores(scores["route"].ranked), "triage": _scores(scores["triage"].ranked, 8)},
        "assessed": assess(text, rules, classifier).matched,
        "search": _search(index.search(text, locale)),
        "search_home": _search(index.search(text, locale, municipality="toshima-ku")),
        "route_bare": _route(route_text(text, locale, triage_rules=rules, index=index)),
        "route": _route(route_text(text, locale, triage_rules=rules, index=index, classifier=classifier)),
        "flow": flow_for_keywords(text),
    }


def main() -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--heldout", action="store_true", help="also eval/heldout (texts are never written)")
    args = parser.parse_args()
    from bot.content.registry import ContentRegistry
    from bot.dialogue.classifier import load_classifier
    from bot.dialogue.conversation import Conversation
    content = ContentRegistry(ROOT / "locales", ROOT / "flows", ROOT / "resources", background=False).current()
    classifier = load_classifier()
    talk = SimpleNamespace(deps=SimpleNamespace(content=content), catalog=content.catalog)

    def flow_for_keywords(text: str):
        return Conversation._flow_for_keywords(talk, text)  # type: ignore[arg-type]

    from bot.dialogue.classifier_train import training_texts
    messages = training_texts() + eval_messages(EVAL_SETS + (("heldout",) if args.heldout else ()))
    snapshot = {}
    for text, locale in messages:
        key = hashlib.sha256(f"{locale}\0{text}".encode()).hexdigest()[:20]
        snapshot[key] = snapshot_of(text, locale, content, classifier, flow_for_keywords)
    args.out.write_text(json.dumps(snapshot, ensure_ascii=False, sort_keys=True, indent=0), encoding="utf-8")
    print(f"{len(messages)} messages ({len(snapshot)} distinct), snapshot in {args.out}: "
          f"sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
