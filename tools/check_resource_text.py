"""Quick self-check for a helper writing resources/text/<locale>.yaml (the full check is `python -m bot resources check`)."""
import glob
import sys

import yaml

ids = [e["id"] for f in sorted(glob.glob("resources/entries/*.yaml")) for e in yaml.safe_load(open(f))["entries"]]
for path in sys.argv[1:]:
    data = yaml.safe_load(open(path, encoding="utf-8"))
    entries = data.get("entries", {})
    problems = [f"missing id {i}" for i in ids if i not in entries]
    problems += [f"unknown id {i}" for i in entries if i not in ids]
    for i, e in entries.items():
        for field in ("title", "label", "answer", "keywords", "examples"):
            if not e.get(field):
                problems.append(f"{i}: missing {field}")
        if len(e.get("label") or "") > 20:
            problems.append(f"{i}: label {e['label']!r} has {len(e['label'])} characters (max 20)")
    print(path, "OK" if not problems else "\n  " + "\n  ".join(problems))
