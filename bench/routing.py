"""Routing latency with the learned layer, and what the classifier costs at process start.

Goal (issue 11): routing one message (triage + classifier + search) p99 <= 20 ms on the
project's 2-vCPU machine; loading the model adds <= 1 s to start and <= 100 MB of memory.

Same run, same messages, interleaved so background load hits every variant alike:
- bare:        route_text with the rules and the search only (what main does without the model);
- classifier:  the classifier's prediction alone (triage signals + features + both heads);
- full:        route_text with rules, classifier and search fused (what the bot runs).
Messages: a sample of training/*.yaml (all categories, 17 languages) and eval/dev.yaml; never
eval/heldout. Start cost: a fresh process imports numpy and bot.dialogue.classifier and loads the model,
timing each step and reading its resident memory before and after.

--path-only: only the CPU of the content path one free-text message takes in a worker turn, as
the turn runs it (the safety check's `assess_message`, the flow keywords, then `route_text` with
the classifier), per message, over ROUNDS passes of the same messages (the median per message of
its passes, then the median and p99 over messages); no start cost.

    .venv/bin/python bench/routing.py [--json] [--messages 1500] [--path-only [--rounds 3]]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench._harness import load, machine, percentile  # noqa: E402

BUDGET_P99_MS = 20.0
START_BUDGET_S, MEMORY_BUDGET_MB = 1.0, 100.0


def messages(count: int) -> list[tuple[str, str]]:
    from bot.dialogue.classifier_train import training_texts
    pool = training_texts()
    dev = yaml.safe_load((ROOT / "eval" / "dev.yaml").read_text(encoding="utf-8"))["questions"]
    pool += [(q["text"], "ja-easy" if q["lang"] == "ja-Hira" else q["lang"]) for q in dev]
    random.Random(11).shuffle(pool)
    return pool[:count]


def latency(count: int) -> dict:
    from bot.dialogue.classifier import load_classifier
    from bot.resources.loader import load_index
    from bot.dialogue.routing import classify, route_text
    from bot.dialogue.triage_rules import load_triage_rules
    index = load_index(ROOT / "resources")
    rules = load_triage_rules(ROOT / "flows" / "triage")
    model = load_classifier()
    variants = {
        "bare": lambda text, locale: route_text(text, locale, triage_rules=rules, index=index),
        "classifier": lambda text, locale: classify(text, rules, model),
        "full": lambda text, locale: route_text(text, locale, triage_rules=rules, index=index, classifier=model),
    }
    sample = messages(count)
    for text, locale in sample[:50]:                                   # warm up caches and the index
        for run in variants.values():
            run(text, locale)
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for text, locale in sample:
        for name, run in variants.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            run(text, locale)
            times[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.process_time() - started_cpu) * 1000)
    # Wall time is what a parent waits; CPU time is the same work without the waits for a core
    # that other processes on a busy machine cause.
    return {name: {"messages": len(values), "median_ms": round(statistics.median(values), 3),
                   "p99_ms": round(percentile(values, 0.99), 3), "max_ms": round(max(values), 3),
                   "cpu_median_ms": round(statistics.median(cpu[name]), 3),
                   "cpu_p99_ms": round(percentile(cpu[name], 0.99), 3)}
            for name, values in times.items()}


def content_path(count: int, rounds: int) -> dict:
    """CPU µs per message of the worker turn's content path (see the module docstring)."""
    from types import SimpleNamespace

    from bot.content.registry import ContentRegistry
    from bot.dialogue.classifier import load_classifier
    from bot.dialogue.conversation import Conversation
    from bot.dialogue.routing import assess_message, route_text
    content = ContentRegistry(ROOT / "locales", ROOT / "flows", ROOT / "resources", background=False).current()
    rules, index, model = content.triage_rules, content.index, load_classifier()
    talk = SimpleNamespace(deps=SimpleNamespace(content=content), catalog=content.catalog)

    def turn(text: str, locale: str) -> None:
        assess_message(text, rules, model)
        Conversation._flow_for_keywords(talk, text)  # type: ignore[arg-type]
        route_text(text, locale, triage_rules=rules, index=index, classifier=model)

    sample = messages(count)
    for text, locale in sample[:50]:                                   # warm up caches and the index
        turn(text, locale)
    cpu: list[list[float]] = [[] for _ in sample]
    for _ in range(rounds):
        for spent, (text, locale) in zip(cpu, sample):
            started = time.process_time()
            turn(text, locale)
            spent.append((time.process_time() - started) * 1e6)
    per_message = [statistics.median(values) for values in cpu]
    return {"messages": len(sample), "rounds": rounds, "cpu_median_us": round(statistics.median(per_message), 1),
            "cpu_mean_us": round(statistics.fmean(per_message), 1),
            "cpu_p99_us": round(percentile(per_message, 0.99), 1)}


START_PROBE = r"""
import json, time, resource
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6
t0, m0 = time.perf_counter(), rss()
import numpy, bot.dialogue.classifier
t1, m1 = time.perf_counter(), rss()
model = bot.dialogue.classifier.load_classifier()
t2, m2 = time.perf_counter(), rss()
model.predict("warm up")
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "import_mb": m1 - m0, "load_mb": m2 - m1,
                  "file_mb": bot.dialogue.classifier.MODEL_PATH.stat().st_size / 1e6}))
"""


def start_cost(runs: int = 5) -> dict:
    probes = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", START_PROBE], cwd=ROOT, capture_output=True, text=True,
                             timeout=120, check=True).stdout
        probes.append(json.loads(out))
    median = {key: round(statistics.median(p[key] for p in probes), 3) for key in probes[0]}
    median["total_s"] = round(median["import_s"] + median["load_s"], 3)
    median["total_mb"] = round(median["import_mb"] + median["load_mb"], 1)
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--path-only", action="store_true", help="CPU of the turn's content path only")
    parser.add_argument("--rounds", type=int, default=3, help="with --path-only: passes over the messages")
    args = parser.parse_args()
    if args.path_only:
        before = load()
        path = content_path(args.messages, args.rounds)
        figures = {"machine": machine(), "load_average_before": before, "path": path, "load_average_after": load()}
        print(json.dumps(figures, indent=2) if args.json else
              f"load average {before} before, {figures['load_average_after']} after; content path, "
              f"{path['messages']} messages x {path['rounds']} rounds: CPU per message median "
              f"{path['cpu_median_us']} µs, mean {path['cpu_mean_us']} µs, p99 {path['cpu_p99_us']} µs")
        return 0
    figures = {"machine": machine(), "load_average_before": load(), "start": start_cost(),
               "latency": latency(args.messages)}
    figures["load_average_after"] = load()
    figures["within_budget"] = (figures["latency"]["full"]["p99_ms"] <= BUDGET_P99_MS
                                and figures["start"]["total_s"] <= START_BUDGET_S
                                and figures["start"]["total_mb"] <= MEMORY_BUDGET_MB)
    print(json.dumps(figures, indent=2) if args.json else render(figures))
    return 0


def render(figures: dict) -> str:
    m, start = figures["machine"], figures["start"]
    lines = [f"machine: {m}", f"load average (1 min): {figures['load_average_before']} before, "
                              f"{figures['load_average_after']} after",
             f"model start cost (median of 5 fresh processes): import numpy + bot.dialogue.classifier "
             f"{start['import_s'] * 1000:.0f} ms / {start['import_mb']:.1f} MB, load {start['load_s'] * 1000:.0f} ms / "
             f"{start['load_mb']:.1f} MB; total {start['total_s']:.2f} s (budget {START_BUDGET_S:.0f} s), "
             f"{start['total_mb']:.0f} MB (budget {MEMORY_BUDGET_MB:.0f} MB); file {start['file_mb']:.1f} MB"]
    for name, row in figures["latency"].items():
        lines.append(f"{name:10} {row['messages']} messages: median {row['median_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
                     f"max {row['max_ms']:.2f} ms; CPU time median {row['cpu_median_ms']:.2f} ms, "
                     f"p99 {row['cpu_p99_ms']:.2f} ms")
    lines.append(f"full routing p99 budget {BUDGET_P99_MS:.0f} ms: "
                 f"{'within budget' if figures['within_budget'] else 'OVER BUDGET'}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
