"""Check that the triage term index never rules out a signal that occurs (issue 17).

    .venv/bin/python tools/check_triage_index.py [FOLDER ...]

Every string in the YAML, JSON, JSONL, CSV, text and Python files of training/, eval/, flows/,
locales/ and tests/ (or the folders given) is one text; for each, the signals that match with the
index are compared with those that match when every signal's regexes run (no index), and the
triage results likewise. Prints the counts and exits 1 on any difference.
"""
from __future__ import annotations

import ast
import csv
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dialogue.triage import SignalHits, _triage  # noqa: E402
from bot.dialogue.triage_rules import load_triage_rules  # noqa: E402

FOLDERS = ("training", "eval", "flows", "locales", "tests")
SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".csv", ".txt", ".py", ".md")


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def texts_of(path: Path) -> list[str]:
    import yaml
    raw = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix in (".yaml", ".yml"):
            return [s for doc in yaml.safe_load_all(raw) for s in _strings(doc)]
        if path.suffix == ".json":
            return _strings(json.loads(raw))
        if path.suffix == ".jsonl":
            return [s for line in raw.splitlines() if line.strip() for s in _strings(json.loads(line))]
        if path.suffix == ".csv":
            return [cell for row in csv.reader(raw.splitlines()) for cell in row]
        if path.suffix == ".py":
            return [node.value for node in ast.walk(ast.parse(raw))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    except Exception:  # noqa: BLE001 - a file that does not parse: its lines are texts
        pass
    return raw.splitlines()


def main() -> int:
    folders = [Path(f) for f in sys.argv[1:]] or [ROOT / f for f in FOLDERS]
    texts = sorted({t for folder in folders for path in folder.rglob("*")
                    if path.is_file() and path.suffix in SUFFIXES
                    for t in texts_of(path) if t.strip()})
    indexed = load_triage_rules(ROOT / "flows" / "triage")
    every = dataclasses.replace(indexed, index=None)
    differ = 0
    run_indexed = run_every = 0
    for text in texts:
        with_index, without = SignalHits(text, indexed), SignalHits(text, every)
        hits = {s for s in indexed.signals if with_index.hit(s)}
        truth = {s for s in indexed.signals if without.hit(s)}
        run_indexed += len(with_index._candidates or ())
        run_every += len(indexed.signals)
        if hits != truth or _triage(text, indexed) != _triage(text, every):
            differ += 1
            print(f"DIFFERS: {text[:80]!r}: indexed {sorted(hits ^ truth)}")
    print(f"{len(texts)} texts, {len(indexed.signals)} signals; signals run per text: "
          f"{run_indexed / max(1, len(texts)):.1f} with the index, {run_every / max(1, len(texts)):.1f} without; "
          f"texts whose signals or triage differ: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
