"""Webhook load: our /callback under gunicorn against a bare Flask endpoint and the inline design.

    .venv/bin/python bench/webhook_load.py [--seconds 20] [--json]

Phases, each S seconds, on loopback with the production gunicorn settings:
  ours     open loop at 200 events/s (latency), then closed loop with 16 connections (throughput)
  bare     the same against bench/bare_app.py (a 200 "OK" and nothing else)
  inline   bench/inline_app.py (reply_message inside the request) with the fake LINE answering at
           once, then with every LINE call 0.3 s slower
No worker runs: the webhook's job ends when the event is in Redis. Redis is flushed before every
phase so each starts from the same state. Bodies and signatures are prepared before timing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request
import uuid
from pathlib import Path

from _harness import (FakeLineProcess, Gunicorn, RedisServer, bot_env, children, closed_loop, cpu_seconds, load, machine,
                      migrated_database, open_loop, signed_request, temp_dir, wait_until)

RATE = 200            # events/s, the budget's load
CONNECTIONS = 16      # closed loop: as many as the server has threads (2 workers x 8)
MAX_RPS = 6000        # upper bound for preparing unique closed-loop requests (a phase ends early if they run out)
SLOW_LINE_S = 0.3
TEXTS = ["Hello", "保育園に入りたい", "Con tôi bị sốt", "where is the city office", "ขอบคุณค่ะ"]


def prepare(count: int) -> list[bytes]:
    """Signed one-event bodies, each with a fresh webhookEventId and reply token (as LINE sends)."""
    from tests.support.line_events import body_of, text_event
    users = [f"U{uuid.uuid4().hex}" for _ in range(1000)]
    return [signed_request(body_of(text_event(users[i % len(users)], TEXTS[i % len(TEXTS)]))) for i in range(count)]


def measure(port: int, requests: list[bytes], seconds: float, before_each, server_pids=None) -> dict:
    """Open loop at RATE, then closed loop; `before_each` resets server-side state first.
    With `server_pids` (a function), the closed loop also reports the CPU time those processes
    spent per answer: unlike requests/s, it holds still when other work shares the cores."""
    before_each()
    asyncio.run(closed_loop(port, requests[:300], CONNECTIONS, 5))        # warm-up: imports, pools
    before_each()
    opened = asyncio.run(open_loop(port, requests[:int(RATE * seconds)], RATE))
    before_each()
    pids = server_pids() if server_pids else []
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    closed = asyncio.run(closed_loop(port, requests, CONNECTIONS, seconds))
    if pids and closed["answers_total"]:
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        closed["server_cpu_ms_per_answer"] = round(cpu * 1000 / closed["answers_total"], 3)
    for result in (opened, closed):
        result.pop("records")
    return {"open": opened, "closed": closed}


def _cpu_ratio(results: dict) -> float | None:
    ours, bare = (results[k]["closed"].get("server_cpu_ms_per_answer") for k in ("ours", "bare"))
    return round(ours / bare, 2) if ours and bare else None


def reset_fake(line: FakeLineProcess):
    def reset():
        # Requests the client gave up on are still being served: wait until LINE has had no call
        # for a second, so they do not slow the next phase; then forget spent reply tokens.
        wait_until(lambda: not _recent_messages(line), 60, interval=0.5, what="inline app idle")
        request = urllib.request.Request(line.url + "/_test/reset", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).close()
        time.sleep(1)
    return reset


def _recent_messages(line: FakeLineProcess) -> list:
    with urllib.request.urlopen(f"{line.url}/_test/messages?since={time.time() - 1}", timeout=5) as answer:
        return json.load(answer)


def run(seconds: float, inline: bool = True) -> dict:
    requests = prepare(int(seconds * MAX_RPS))
    results: dict = {"machine": machine(), "seconds": seconds, "rate": RATE, "connections": CONNECTIONS}
    with temp_dir("webhook") as tmp_name, RedisServer(f"{tmp_name}/redis") as redis_server, FakeLineProcess() as line:
        tmp = Path(tmp_name)
        env = bot_env(tmp, redis_server.url, line.url, migrated_database(tmp))

        def flush():
            redis_server.flush()
            time.sleep(1)          # let the machine settle between phases
        def server_pids(web: Gunicorn):
            return lambda: [web.process.pid, *children(web.process.pid), redis_server.process.pid]
        with Gunicorn("bot.app:create_app()", env, tmp / "ours.log") as web:
            results["ours"] = measure(web.port, requests, seconds, flush, server_pids(web))
        with Gunicorn("bench.bare_app:create_app()", env, tmp / "bare.log") as web:
            results["bare"] = measure(web.port, requests, seconds, flush, server_pids(web))
        results["server_cpu_ratio_ours_to_bare"] = _cpu_ratio(results)
        if not inline:
            results["load_after"] = load()
            results["throughput_ratio_vs_bare"] = round(results["ours"]["closed"]["rps"] / results["bare"]["closed"]["rps"], 2)
            return results
        with Gunicorn("bench.inline_app:create_app()", env, tmp / "inline.log") as web:
            results["inline_fast_line"] = measure(web.port, requests, seconds, reset_fake(line))
        with FakeLineProcess(delay=SLOW_LINE_S) as slow_line, \
                Gunicorn("bench.inline_app:create_app()", {**env, "LINE_API_HOST": slow_line.url}, tmp / "slow.log") as web:
            results["inline_slow_line"] = measure(web.port, requests, seconds, reset_fake(slow_line))
    results["load_after"] = load()
    results["throughput_ratio_vs_bare"] = round(results["ours"]["closed"]["rps"] / results["bare"]["closed"]["rps"], 2)
    return results


def print_table(r: dict) -> None:
    m = r["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, {m['platform']}; "
          f"load average {m['load_1min']} at start, {r['load_after']} at end")
    print(f"gunicorn 2 workers x 8 threads (gthread), loopback; {r['seconds']:.0f} s per phase")
    print(f"open loop: {r['rate']} requests/s, latency from the scheduled send time, 10 s client timeout")
    print(f"closed loop: {r['connections']} keep-alive connections\n")
    print(f"{'':<28}{'----- open loop -----':^40}   {'---- closed loop ----':^30}")
    print(f"{'app':<28}{'p50':>10}{'p99':>10}{'achieved/s':>12}{'failed':>8}   {'req/s':>10}{'p50':>10}{'p99':>10}")
    names = {"ours": "ours (Redis enqueue)", "bare": "bare Flask",
             "inline_fast_line": "inline reply, LINE fast", "inline_slow_line": f"inline reply, LINE +{SLOW_LINE_S}s"}
    names = {key: label for key, label in names.items() if key in r}
    for key, label in names.items():
        o, c = r[key]["open"], r[key]["closed"]
        print(f"{label:<28}{o['p50_ms']!s:>7} ms{o['p99_ms']!s:>7} ms{o['rps']!s:>12}{o['requests'] - o['ok']:>8}"
              f"   {c['rps']!s:>10}{c['p50_ms']!s:>7} ms{c['p99_ms']!s:>7} ms")
    print(f"\nthroughput ours / bare Flask: {r['throughput_ratio_vs_bare']:.0%}  (budget >= 70 %)")
    print(f"ours p99 at {r['rate']}/s: {r['ours']['open']['p99_ms']} ms  (budget <= 50 ms)")
    for key, label in names.items():
        for phase in ("open", "closed"):
            failed = {k: v for k, v in r[key][phase]["statuses"].items() if k != "200"}
            if failed:
                print(f"{label}, {phase} loop: answers other than 200: {failed}")
    if r.get("server_cpu_ratio_ours_to_bare"):
        print("server CPU per answer in closed loop (gunicorn master and workers + redis-server): "
              + ", ".join(f"{k} {r[k]['closed']['server_cpu_ms_per_answer']} ms" for k in ("ours", "bare"))
              + f"; ours / bare {r['server_cpu_ratio_ours_to_bare']}")
    print("load client CPU in closed loop (share of one core): "
          + ", ".join(f"{k} {r[k]['closed']['client_cpu_share']}" for k in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each measured phase")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-inline", action="store_true", help="only ours and bare Flask (skip the inline designs)")
    args = parser.parse_args()
    results = run(args.seconds, inline=not args.no_inline)
    print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else "", end="")
    if not args.json:
        print_table(results)


if __name__ == "__main__":
    main()
