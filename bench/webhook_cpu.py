"""Webhook CPU per request, in one process: our app against bench/bare_app.py, no HTTP server.

    .venv/bin/python bench/webhook_cpu.py [--requests 5000] [--profile ours|bare] [--json]

Calls each app's WSGI entry point in a loop with the environ gunicorn would build for a signed
one-event POST /callback (a new user every 5 events, as in bench/webhook_load.py) and reports
the CPU time of this process and of redis-server per request. CPU time, unlike wall time, holds
still when other work shares the cores; the bare app is measured in the same run as the floor.
`--profile` prints cProfile's top functions for one app instead.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

from _harness import (RedisServer, bot_env, cpu_seconds, load, machine, migrated_database, signed_request,
                      temp_dir)

TEXTS = ["Hello", "保育園に入りたい", "Con tôi bị sốt", "where is the city office", "ขอบคุณค่ะ"]


def prepare(count: int) -> list[bytes]:
    from tests.support.line_events import body_of, text_event
    users = [f"U{uuid.uuid4().hex}" for _ in range(max(1, count // 5))]
    return [signed_request(body_of(text_event(users[i % len(users)], TEXTS[i % len(TEXTS)]))) for i in range(count)]


def environ_of(raw: bytes) -> dict:
    """The WSGI environ gunicorn builds for one of these requests."""
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ")
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "RAW_URI": path,
               "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
               "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
               "wsgi.input": io.BytesIO(body)}
    for line in lines[1:]:
        name, value = line.split(": ", 1)
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    return environ


def call_all(app, requests: list[bytes]) -> list[str]:
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)
    for raw in requests:
        result = app(environ_of(raw), start_response)
        for _ in result:
            pass
        close = getattr(result, "close", None)
        if close:
            close()
    return statuses


def measure(app, requests: list[bytes], redis_pid: int) -> dict:
    call_all(app, requests[:200])                      # warm-up: imports, first connections, caches
    timed = requests[200:]
    redis_before, cpu_before, wall_before = cpu_seconds(redis_pid), time.process_time(), time.perf_counter()
    statuses = call_all(app, timed)
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    redis_cpu = cpu_seconds(redis_pid) - redis_before
    failed = [s for s in statuses if not s.startswith("200")]
    return {"requests": len(timed), "failed": len(failed), "cpu_ms_per_request": round(cpu * 1000 / len(timed), 4),
            "redis_cpu_ms_per_request": round(redis_cpu * 1000 / len(timed), 4),
            "wall_ms_per_request": round(wall * 1000 / len(timed), 4)}


def apps(env: dict) -> dict:
    os.environ.update(env)
    from bench.bare_app import create_app as create_bare
    from bot.app import create_app
    return {"ours": create_app(), "bare": create_bare()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--profile", choices=["ours", "bare"], help="print cProfile's top functions for one app")
    parser.add_argument("--sort", default="tottime", help="cProfile sort key with --profile (tottime, cumulative)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    requests = prepare(args.requests + 200)
    with temp_dir("webhook-cpu") as tmp_name, RedisServer(Path(tmp_name) / "redis") as redis_server:
        tmp = Path(tmp_name)
        built = apps(bot_env(tmp, redis_server.url, "http://127.0.0.1:9", migrated_database(tmp)))
        if args.profile:
            call_all(built[args.profile], requests[:200])
            profiler = cProfile.Profile(time.process_time)      # CPU, not time spent waiting
            profiler.runcall(call_all, built[args.profile], requests[200:])
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
            return
        results: dict = {"machine": machine()}
        for name in ("bare", "ours", "bare", "ours"):         # twice, interleaved: the later pair counts
            redis_server.flush()
            results[name] = measure(built[name], requests, redis_server.process.pid)
        results["load_after"] = load()
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}; load average {m['load_1min']} at start, "
          f"{results['load_after']} at end")
    print(f"{'app':<8}{'requests':>10}{'failed':>8}{'CPU ms/req':>12}{'redis ms/req':>14}{'wall ms/req':>13}")
    for name in ("ours", "bare"):
        r = results[name]
        print(f"{name:<8}{r['requests']:>10}{r['failed']:>8}{r['cpu_ms_per_request']:>12}"
              f"{r['redis_cpu_ms_per_request']:>14}{r['wall_ms_per_request']:>13}")


if __name__ == "__main__":
    main()
