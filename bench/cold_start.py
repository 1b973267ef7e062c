"""Process start to first answer: `python -m bot chat` and a worker's first event, cold and warm cache.

Budget (DESIGN.md / issue 17): `chat` answers <= 1.5 s after a cold start; a worker answers its
first event <= 2 s after start.

  chat      wall time of `python -m bot chat --locale en hello` (a new process each run), with an
            empty content cache (the first start after a deploy) and with the cache filled
  worker    an event is waiting in Redis; `python -m bot worker` starts; time until the fake LINE
            server has the answer (also cold and warm cache)
  baseline  the same run's `python -c pass` and `python -c "import flask, sqlalchemy, rq"`:
            what an interpreter and the libraries cost before any of our code

Each figure has its CPU time beside the wall time (`median_cpu_s`: user + system of the process
measured; for a worker, up to its first answer): on a shared machine the wall time mostly says
how busy the other work was, the CPU time what the start itself costs.

    .venv/bin/python bench/cold_start.py [--runs 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from _harness import (
    ROOT,
    RedisServer,
    bot_env,
    cpu_seconds,
    load,
    machine,
    migrated_database,
    start_fake_line,
    stop_process,
    temp_dir,
    wait_until,
)

BUDGET_S = {"chat": 1.5, "worker": 2.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = {"machine": machine(), "budget_s": BUDGET_S}
    with temp_dir("cold-start") as tmp_name:
        tmp = Path(tmp_name)
        figures["baseline"] = {"python -c pass": _median(lambda: _wall([sys.executable, "-c", "pass"]), args.runs),
                               "import flask, sqlalchemy, rq": _median(
                                   lambda: _wall([sys.executable, "-c", "import flask, sqlalchemy, rq"]), args.runs)}
        cache = tmp / "content-cache"
        env = {**os.environ, "BOT_CONTENT_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
        chat = [sys.executable, "-m", "bot", "chat", "--locale", "en", "hello"]
        figures["chat"] = {"cold_cache": _median(lambda: _wall(chat, env, before=lambda: _empty(cache)), args.runs),
                           "warm_cache": _median(lambda: _wall(chat, env), args.runs)}
        figures["worker"] = _worker_figures(tmp, cache, args.runs)
    figures["load_after"] = load()
    figures["within_budget"] = (figures["chat"]["warm_cache"]["median_s"] <= BUDGET_S["chat"]
                                and figures["worker"]["warm_cache"]["median_s"] <= BUDGET_S["worker"])
    print(json.dumps(figures, indent=2) if args.json else _render(figures))
    return 0


def _worker_figures(tmp: Path, cache: Path, runs: int) -> dict:
    with RedisServer(tmp / "redis") as redis_server:
        fake = start_fake_line()
        env = {**bot_env(tmp, redis_server.url, fake.url, migrated_database(tmp)), "BOT_CONTENT_CACHE_DIR": str(cache)}
        try:
            return {"cold_cache": _median(lambda: _first_answer(env, redis_server, fake, cold=cache), runs),
                    "warm_cache": _median(lambda: _first_answer(env, redis_server, fake), runs)}
        finally:
            fake.stop()


def _first_answer(env: dict, redis_server: RedisServer, fake, cold: Path | None = None) -> tuple[float, float]:
    """Seconds from starting a worker to the fake LINE server receiving its answer, and the
    worker's CPU seconds by then (sampled every 5 ms: the work it does after answering is not counted)."""
    if cold is not None:
        _empty(cold)
    from bot.adapters.redis_queue import RqEventQueue
    from tests.support.line_events import text_event
    user = f"U{uuid.uuid4().hex}"
    RqEventQueue(redis_server.client()).enqueue([text_event(user, "hello")])
    before = len(fake.state.received)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answered = lambda: len(fake.state.received) > before      # noqa: E731 - only this worker runs
    samples: list[tuple[float, float]] = []
    sampler = threading.Thread(target=_sample_cpu, args=(process, answered, samples), daemon=True)
    sampler.start()
    try:
        wait_until(answered, 120, interval=0.01, what="the worker's first answer")
        wall = time.perf_counter() - started
        sampler.join(timeout=5)
        answered_at = fake.state.received[before]["time"]
        return wall, max((cpu for at, cpu in samples if at <= answered_at), default=0.0)
    finally:
        stop_process(process)


def _sample_cpu(process: subprocess.Popen, done, samples: list[tuple[float, float]]) -> None:
    while process.poll() is None and not done():
        try:
            samples.append((time.time(), cpu_seconds(process.pid)))
        except (OSError, IndexError, ValueError):
            pass                                       # the process is just starting or gone
        time.sleep(0.005)


def _empty(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _wall(command: list[str], env: dict | None = None, before=None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, from the child's rusage) of one run of `command`."""
    if before:
        before()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _median(measure, runs: int) -> dict:
    walls, cpus = zip(*(measure() for _ in range(runs)))
    return {"median_s": round(statistics.median(walls), 2), "runs_s": [round(t, 2) for t in walls],
            "median_cpu_s": round(statistics.median(cpus), 2), "runs_cpu_s": [round(t, 2) for t in cpus],
            "load": load()}


def _render(figures: dict) -> str:
    m = figures["machine"]
    lines = [f"machine: {m['platform']}, {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}; "
             f"load (1 min) before {m['load_1min']}, after {figures['load_after']} (shared machine)"]
    for name, row in figures["baseline"].items():
        lines.append(f"baseline  {name:34} median {row['median_s']:.2f} s  runs {row['runs_s']}, "
                     f"CPU median {row['median_cpu_s']:.2f} s  runs {row['runs_cpu_s']}")
    for kind in ("chat", "worker"):
        for cache in ("cold_cache", "warm_cache"):
            row = figures[kind][cache]
            lines.append(f"{kind:9} {cache.replace('_', ' '):34} median {row['median_s']:.2f} s  runs {row['runs_s']}, "
                         f"CPU median {row['median_cpu_s']:.2f} s  runs {row['runs_cpu_s']} "
                         f"(budget {BUDGET_S[kind]} s, load {row['load']})")
    lines.append("within budget (warm cache)" if figures["within_budget"] else "OVER BUDGET")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
