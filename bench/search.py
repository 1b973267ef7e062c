"""Resource search latency: p50/p99 per query on the shipped index and on 5,000 generated entries.

Budget (DESIGN.md): p99 <= 10 ms for the shipped index, <= 50 ms at 5,000 entries.
Queries: every example sentence of every locale plus the development questions, so all 17
scripts are measured. The 5,000 entries are the shipped ones copied for 114 made-up
municipalities with the city name added, as a large prefecture-wide index would look.

    .venv/bin/python bench/search.py [--json] [--queries 2000]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.resources.loader import read_index          # noqa: E402
from bot.resources.model import ResourceIndex         # noqa: E402
from bot.resources.search import SearchEngine         # noqa: E402

GENERATED = 5000
BUDGET_MS = {"shipped": 10.0, "generated": 50.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--queries", type=int, default=2000, help="queries per index (sampled)")
    args = parser.parse_args()
    shipped, problems, _ = read_index(ROOT / "resources")
    if problems:
        print(f"note: the shipped index has {len(problems)} problem(s); measuring it anyway", file=sys.stderr)
    queries = _queries(shipped, args.queries)
    figures = {"machine": _machine(), "budget_p99_ms": BUDGET_MS,
               "shipped": _measure(shipped, queries), "generated": _measure(_generate(shipped, GENERATED), queries)}
    figures["within_budget"] = all(figures[k]["p99_ms"] <= BUDGET_MS[k] for k in BUDGET_MS)
    print(json.dumps(figures, indent=2) if args.json else _render(figures))
    return 0


def _queries(index: ResourceIndex, count: int) -> list[tuple[str, str]]:
    pool = [(text.examples[i], locale) for locale, texts in index.texts.items()
            for text in texts.values() for i in range(len(text.examples))]
    dev = ROOT / "eval" / "dev.yaml"
    if dev.exists():
        import yaml
        pool += [(q["text"], "ja-easy" if q["lang"] == "ja-Hira" else q["lang"])
                 for q in yaml.safe_load(dev.read_text(encoding="utf-8"))["questions"]]
    random.Random(7).shuffle(pool)
    return pool[:count]


def _generate(index: ResourceIndex, size: int) -> ResourceIndex:
    entries, texts = {}, {locale: {} for locale in index.texts}
    originals = list(index.entries.values())
    for number in range(size):
        base = originals[number % len(originals)]
        city = f"city{number // len(originals):03d}"
        entry_id = f"{base.id}-{city}"
        entries[entry_id] = dataclasses.replace(base, id=entry_id, scope="municipal", municipality=f"{city}-shi",
                                                keywords=base.keywords + (city,))
        for locale, own in index.texts.items():
            if base.id in own:
                text = own[base.id]
                texts[locale][entry_id] = dataclasses.replace(text, title=f"{text.title} ({city})")
    return ResourceIndex(entries=entries, texts=texts)


def _measure(index: ResourceIndex, queries: list[tuple[str, str]]) -> dict:
    started = time.perf_counter()
    index.engine = SearchEngine.build(index)
    build_s = time.perf_counter() - started
    for text, locale in queries[:50]:                 # warm up
        index.search(text, locale)
    times = []
    for text, locale in queries:
        started = time.perf_counter()
        index.search(text, locale, municipality="toshima-ku")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"entries": len(index.entries), "queries": len(times), "build_s": round(build_s, 2),
            "peak_memory_mb": _peak_memory_mb(),
            "p50_ms": round(statistics.median(times), 3), "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
            "max_ms": round(times[-1], 3)}


def _machine() -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


def _peak_memory_mb() -> float:
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)      # Linux: kilobytes


def _render(figures: dict) -> str:
    machine = figures["machine"]
    lines = [f"machine: {machine['platform']}, Python {machine['python']}, {machine['cpu_count']} CPUs"]
    for key in ("shipped", "generated"):
        row = figures[key]
        lines.append(f"{key:9} {row['entries']:>5} entries, {row['queries']} queries: p50 {row['p50_ms']:.2f} ms, "
                     f"p99 {row['p99_ms']:.2f} ms (budget {BUDGET_MS[key]:.0f} ms), max {row['max_ms']:.2f} ms, "
                     f"index built in {row['build_s']:.1f} s, process peak memory {row['peak_memory_mb']:.0f} MB")
    lines.append("within budget" if figures["within_budget"] else "OVER BUDGET")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
