"""Cross-validation of the classifier and its fusion with the rules and the search.

Holds out one fifth of the training/ messages (by a hash of the text), trains the classifier on
the rest plus the index, and routes the held-out fifth through bot.dialogue.routing exactly as the bot
does. Prints, per setting: top-1 on ordinary and calm questions, questions wrongly handed to a
person, emergency recall, crisis recall and calm questions raised to an alarm. eval/ is never
read: this is how the settings in bot/dialogue/classifier_train.py and bot/dialogue/routing.py were chosen.

    .venv/bin/python tools/classifier_cv.py [--fold 0] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bot.dialogue.routing as routing  # noqa: E402
from bot.dialogue import classifier_train as ct  # noqa: E402
from bot.resources.loader import load_index  # noqa: E402
from bot.dialogue.triage_rules import load_triage_rules  # noqa: E402

FOLDS = 5


def held_out(text: str, fold: int) -> bool:
    return zlib.crc32(text.encode("utf-8")) % FOLDS == fold


def messages(files: list[dict], fold: int) -> list[tuple[str, str, str, str]]:
    """(category, text, expected, locale) of the held-out fifth: expected = entry id, 'emergency' or
    'crisis'."""
    out = []
    for data in files:
        locale = data["locale"]
        for item in data.get("emergency") or []:
            out.append(("emergency", str(item["text"]), "emergency", locale))
        for item in data.get("crisis") or []:
            out.append(("crisis", str(item["text"]), "crisis", locale))
        for item in data.get("calm") or []:
            out.append(("calm", str(item["text"]), str(item.get("expect") or "none"), locale))
        for entry_id, texts in (data.get("questions") or {}).items():
            out += [("ordinary", str(text), entry_id, locale) for text in texts or []]
    return [m for m in out if held_out(m[1], fold)]


def measure(held, index, rules, classifier) -> dict:
    counts = {k: [0, 0] for k in ("top1", "to_person", "emergency", "crisis", "calm_alarm")}
    for category, text, expected, locale in held:
        route = routing.route_text(text, locale, triage_rules=rules, index=index, classifier=classifier)
        if category == "emergency":
            counts["emergency"][0] += route.kind == "emergency"
            counts["emergency"][1] += 1
        elif category == "crisis":
            counts["crisis"][0] += route.kind in ("emergency", "crisis")
            counts["crisis"][1] += 1
        else:
            if category == "calm":
                counts["calm_alarm"][0] += route.kind in ("emergency", "crisis")
                counts["calm_alarm"][1] += 1
            if expected != "none":
                counts["top1"][0] += bool(route.entry_ids) and route.entry_ids[0] == expected \
                    and route.kind in ("answer", "suggest")
                counts["top1"][1] += 1
                counts["to_person"][0] += route.kind in ("emergency", "crisis", "handoff")
                counts["to_person"][1] += 1
    return {k: f"{100 * a / b:5.1f}% ({b})" if b else "n/a" for k, (a, b) in counts.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="only the shipped settings")
    args = parser.parse_args()
    index = load_index(REPO / "resources")
    rules = load_triage_rules(REPO / "flows" / "triage")
    files = ct.read_training_files()
    known = set(index.entries)
    train_files = ct.samples_from_training(files, known)
    from_index = ct.samples_from_index(index)
    samples = {head: [s for s in train_files[head] if not held_out(s.text, args.fold)] + from_index[head]
               for head in ("route", "triage")}
    held = messages(files, args.fold)
    print(f"{len(held)} held-out messages; training on {len(samples['route'])} routing / "
          f"{len(samples['triage'])} triage samples")
    print("rules + search only:", measure(held, index, rules, None))
    started = time.perf_counter()
    classifier = ct.classifier_from(*ct.fit_both(samples, ct.signal_finder()))
    print(f"trained in {time.perf_counter() - started:.1f} s")
    shares = [routing.BM25_SHARE] if args.quick else [0.35]
    raises = [routing.RAISE_EMERGENCY_AT] if args.quick else [0.1, 0.15, 0.2, 0.3]
    for share in shares:
        routing.BM25_SHARE = share
        print(f"bm25 share {share}, raise at {routing.RAISE_EMERGENCY_AT}:",
              measure(held, index, rules, classifier), flush=True)
    routing.BM25_SHARE = shares[0] if args.quick else routing.BM25_SHARE
    for raise_at in raises:
        routing.RAISE_EMERGENCY_AT, routing.RAISE_CRISIS_AT = raise_at, min(0.9, raise_at + 0.1)
        print(f"bm25 share {routing.BM25_SHARE}, raise at {raise_at}:",
              measure(held, index, rules, classifier), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
