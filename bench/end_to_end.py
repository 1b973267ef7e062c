"""End to end: from POST /callback to the answer arriving at the fake LINE server.

    .venv/bin/python bench/end_to_end.py [--events 500] [--rate 50] [--json] [--logs DIR]

N events from about N/5 users are posted at 50 events/s to the web service under gunicorn; real
Redis and `python -m bot worker` processes handle them and answer through the fake LINE server
(in this process, so arrival times are read straight from its state). Run with 1 worker, then 2,
each time with a fresh Redis and database. Each user writes "hello" (a new user is answered with
the privacy notice), agrees to the privacy notice, then asks questions the resource index answers.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import uuid
from pathlib import Path

from _harness import (Gunicorn, RedisServer, bot_env, cpu_seconds, load, machine, migrated_database, ms,
                      open_loop, percentile, rss_mb, signed_request, start_fake_line, start_worker,
                      stop_process, temp_dir, wait_for_workers, wait_until)

RATE = 50                # events/s, the budget's load (--rate changes it)
QUESTIONS = ["where is the city office", "hoikuen waiting list", "vaccination for my baby",
             "child allowance application", "health checkup for 4 month old baby", "japanese class for parents"]


def user_events(users: list[str], count: int) -> list[dict]:
    """Event i comes from user i % len(users), so each user's messages are spread over the run."""
    from tests.support.line_events import postback_event, text_event
    events = []
    for i in range(count):
        user, turn = users[i % len(users)], i // len(users)
        if turn == 0:
            events.append(text_event(user, "hello"))
        elif turn == 1:
            events.append(postback_event(user, "privacy:agree"))
        else:
            events.append(text_event(user, QUESTIONS[(i + turn) % len(QUESTIONS)]))
    return events


def answer_times(fake, events: list[dict], sent: list[float]) -> list[float | None]:
    """When the first answer to each event arrived: by reply token, else (push) the user's oldest
    event still unanswered that was sent before the push."""
    index_of_token = {e["replyToken"]: i for i, e in enumerate(events) if e.get("replyToken")}
    arrived: list[float | None] = [None] * len(events)
    with fake.state.lock:
        received = sorted(fake.state.received, key=lambda r: r["time"])
    for entry in received:
        i = index_of_token.get(entry.get("replyToken"))
        if i is None and entry["endpoint"] == "push":
            i = next((j for j, e in enumerate(events) if arrived[j] is None and sent[j] is not None
                      and e["source"]["userId"] == entry["to"] and sent[j] <= entry["time"]), None)
        if i is not None and arrived[i] is None:
            arrived[i] = entry["time"]
    return arrived


def post_and_wait(fake, port: int, events: list[dict], rate: float, timeout: float) -> dict:
    from tests.support.line_events import body_of
    for event in events:
        fake.register_reply_token(event["replyToken"], event["source"]["userId"])
    requests = [signed_request(body_of(e)) for e in events]          # signed before timing
    webhook = asyncio.run(open_loop(port, requests, rate, max_connections=16))
    sent = [None] * len(events)
    for record in webhook.pop("records"):
        if record["status"] == 200:
            sent[record["i"]] = record["sent"]
    try:
        wait_until(lambda: None not in answer_times(fake, events, sent), timeout, interval=0.2, what="all answers")
    except TimeoutError:
        pass                                  # reported below as answered < events
    arrived = answer_times(fake, events, sent)
    latencies = [a - s for a, s in zip(arrived, sent) if a is not None and s is not None]
    done = [a for a in arrived if a is not None]
    span = max(done) - min(s for s in sent if s is not None) if done else None
    return {"events": len(events), "answered": len(done), "webhook": webhook,
            "throughput_eps": round(len(done) / span, 1) if span else None,
            "p50_ms": ms(percentile(latencies, 0.5)), "p99_ms": ms(percentile(latencies, 0.99)),
            "max_ms": ms(max(latencies, default=None))}


def run_once(count: int, workers: int, rate: float, logs: Path | None = None) -> dict:
    users = [f"U{uuid.uuid4().hex}" for _ in range(max(1, count // 5))]
    with temp_dir(f"e2e-{workers}") as tmp_name, RedisServer(Path(tmp_name) / "redis") as redis_server:
        tmp = Path(tmp_name)
        fake = start_fake_line()
        env = bot_env(tmp, redis_server.url, fake.url, migrated_database(tmp))
        processes = []
        try:
            with Gunicorn("bot.app:create_app()", env, tmp / "web.log") as web:
                processes = [start_worker(env, tmp / "worker.log") for _ in range(workers)]
                wait_for_workers(redis_server, processes, tmp / "worker.log")
                # Warm-up users (not counted): first imports, connections and caches in every process.
                warm = user_events([f"U{uuid.uuid4().hex}" for _ in range(4)], 8)
                post_and_wait(fake, web.port, warm, rate, timeout=60)
                cpu_before = sum(cpu_seconds(p.pid) for p in processes)
                result = post_and_wait(fake, web.port, user_events(users, count), rate, timeout=60 + count / rate)
                result["worker_cpu_ms_per_event"] = round((sum(cpu_seconds(p.pid) for p in processes) - cpu_before)
                                                          * 1000 / count, 1)
                result["worker_rss_mb"] = [rss_mb(p.pid) for p in processes]
        finally:
            for process in processes:
                stop_process(process)
            fake.stop()
            # Things in the workers' log that explain slow answers (content is edited live by others).
            text = (tmp / "worker.log").read_text(errors="replace") if (tmp / "worker.log").exists() else ""
            notes = {"content_reloads": text.count("content reloaded"), "tracebacks": text.count("Traceback"),
                     "database_locked": text.count("sqlite3.OperationalError: database is locked")}
            if logs:                                 # keep the web and worker logs for a look later
                logs.mkdir(parents=True, exist_ok=True)
                for log in tmp.glob("*.log"):
                    shutil.copy(log, logs / f"{workers}-workers-{log.name}")
    result.update(workers=workers, users=len(users), worker_log=notes)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--rate", type=float, default=RATE, help="events per second (default: the budget's 50)")
    parser.add_argument("--logs", type=Path, help="copy the web and worker logs into this directory")
    args = parser.parse_args()
    start = machine()
    runs = [run_once(args.events, workers, args.rate, args.logs) for workers in (1, 2)]
    report = {"machine": start, "load_after": load(), "rate": args.rate, "runs": runs}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    m = report["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, {m['platform']}; "
          f"load average {m['load_1min']} at start, {report['load_after']} at end")
    print(f"{args.events} events from {runs[0]['users']} users at {args.rate:g}/s; gunicorn 2x8 gthread; "
          "latency = POST sent -> answer at the fake LINE server\n")
    print(f"{'workers':>8}{'answered':>10}{'events/s':>10}{'p50':>11}{'p99':>11}{'max':>11}"
          f"{'webhook p99':>13}{'worker CPU/event':>18}{'worker RSS MB':>16}")
    for r in runs:
        print(f"{r['workers']:>8}{r['answered']:>6}/{r['events']:<4}{r['throughput_eps']!s:>9}{r['p50_ms']!s:>8} ms"
              f"{r['p99_ms']!s:>8} ms{r['max_ms']!s:>8} ms{r['webhook']['p99_ms']!s:>10} ms"
              f"{r['worker_cpu_ms_per_event']!s:>15} ms{' '.join(str(x) for x in r['worker_rss_mb']):>16}")
    print("\nbudget: p50 <= 100 ms, p99 <= 500 ms at 50 events/s")
    for r in runs:
        if any(r["worker_log"].values()):
            print(f"{r['workers']} worker(s), in the workers' log: {r['worker_log']}")


if __name__ == "__main__":
    main()
