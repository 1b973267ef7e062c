"""Admin dashboard: computing the figures and rendering the page over many generated cases.

    .venv/bin/python bench/dashboard.py [--cases 10000] [--json]

Generates cases (tests/support/generated.py) into a migrated SQLite file, then times
build_dashboard() alone and GET /inbox/admin/dashboard (figures + charts + template) through the
Flask test client, logged in as an admin: p50/p99 over 20 runs each, after one warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

from _harness import RedisServer, bot_env, load, machine, migrated_database, ms, percentile, rss_mb, temp_dir

RUNS = 20
EMAIL, PASSWORD = "bench-admin@npo.example", "bench-admin-password-1"


def logged_in_client(app):
    client = app.test_client()
    page = client.get("/inbox/login").data
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    answer = client.post("/inbox/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    if answer.status_code != 302:
        raise SystemExit(f"admin login failed with {answer.status_code}")
    return client


def timed(call, runs: int = RUNS) -> list[float]:
    call()                                     # warm-up: templates compiled, caches filled
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def run(cases: int) -> dict:
    from bot.app import create_app
    from bot.inbox.auth import create_advisor
    from bot.inbox.stats import JST, build_dashboard
    from bot.settings import load_settings
    from tests.support.generated import generate_cases

    start = machine()
    with temp_dir("dashboard") as tmp_name, RedisServer(Path(tmp_name) / "redis") as redis_server:
        tmp = Path(tmp_name)
        env = bot_env(tmp, redis_server.url, "http://127.0.0.1:9", migrated_database(tmp))   # LINE is never called
        app = create_app(load_settings(env, dev_mode=True))     # dev mode: session cookie without Secure
        sessions = app.extensions["bot.services"].sessions
        started = time.perf_counter()
        generate_cases(sessions, cases)
        generated_s = time.perf_counter() - started
        with sessions.begin() as session:
            create_advisor(session, EMAIL, PASSWORD, "admin")
        client = logged_in_client(app)
        today = datetime.now(timezone.utc).astimezone(JST).date()      # as the view does

        def build():
            with sessions() as session:
                build_dashboard(session, today)

        def render():
            page = client.get("/inbox/admin/dashboard")
            assert page.status_code == 200 and page.data.count(b"<svg") >= 1, page.status_code

        build_times, render_times = timed(build), timed(render)
        page_kb = round(len(client.get("/inbox/admin/dashboard").data) / 1024, 1)
        return {"machine": start, "load_after": load(), "cases": cases, "generate_s": round(generated_s, 1), "runs": RUNS,
                "build_dashboard": {"p50_ms": ms(percentile(build_times, 0.5)), "p99_ms": ms(percentile(build_times, 0.99))},
                "page": {"p50_ms": ms(percentile(render_times, 0.5)), "p99_ms": ms(percentile(render_times, 0.99)),
                         "size_kb": page_kb},
                "process_rss_mb": rss_mb(os.getpid()),
                "database_mb": round(sum(f.stat().st_size for f in tmp.glob("bot.sqlite3*")) / 2**20, 1)}   # with WAL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    r = run(args.cases)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    m = r["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, {m['platform']}; "
          f"load average {m['load_1min']} at start, {r['load_after']} at end")
    print(f"{r['cases']} generated cases (SQLite {r['database_mb']} MB, generated in {r['generate_s']} s), {r['runs']} runs\n")
    print(f"{'':<34}{'p50':>10}{'p99':>10}")
    print(f"{'build_dashboard()':<34}{r['build_dashboard']['p50_ms']:>7} ms{r['build_dashboard']['p99_ms']:>7} ms")
    print(f"{'GET /inbox/admin/dashboard':<34}{r['page']['p50_ms']:>7} ms{r['page']['p99_ms']:>7} ms"
          f"   ({r['page']['size_kb']} KB page)")
    print(f"process RSS after the runs: {r['process_rss_mb']} MB")


if __name__ == "__main__":
    main()
