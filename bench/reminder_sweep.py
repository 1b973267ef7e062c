"""The daily reminder sweep at scale: how long one day's sweep takes for N parents, and its memory.

    .venv/bin/python bench/reminder_sweep.py [--users 100000] [--days 5] [--json]

Generates N consenting parents with reminders (80 % from a birth date spread over 3.5 years, 20 %
from a due date in the next 10 months; 17 languages, three municipalities) in PostgreSQL when
TEST_DATABASE_URL is set (a private database is created and dropped), else in a SQLite file.
Then, for `--days` consecutive days at 10:00 Japan time (a simulated clock):
- selection: `due_today()` alone (the indexed query per schedule item + the exact day in Python);
- the whole sweep: selection, sent-log rows and pending messages, pushes to the fake LINE server;
and two baselines from the same run: one bare `SELECT` of every subscription (what a naive sweep
would read) and the same number of bare pushes through the LINE SDK without the database.
Peak memory: the process's peak RSS, and tracemalloc's peak for one sweep (a separate run, as
tracemalloc slows everything down).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
import tracemalloc
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from _harness import RedisServer, bot_env, load, machine, ms, percentile, start_fake_line, temp_dir

START = date(2027, 4, 5)


def _database(tmp: Path):
    """(url, drop) for a fresh migrated database: PostgreSQL at TEST_DATABASE_URL, else SQLite."""
    from sqlalchemy import create_engine, text

    from bot.store.database import upgrade_database
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp / 'bot.sqlite3'}"
        upgrade_database(url)
        return url, lambda: None
    name = f"bench_reminders_{os.urandom(3).hex()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    return url, drop


def generate(sessions, users: int, seed: int = 16) -> None:
    from sqlalchemy import insert

    from bot import LOCALES
    from bot.store.models import User
    from bot.store.reminders import ReminderSubscription
    rng = random.Random(seed)
    joined = datetime(2027, 1, 1, tzinfo=timezone.utc)
    for first in range(0, users, 10000):
        count = min(10000, users - first)
        with sessions.begin() as session:
            ids = session.execute(insert(User).returning(User.id), [
                {"line_user_id": f"U{uuid.UUID(int=rng.getrandbits(128)).hex}", "locale": LOCALES[i % len(LOCALES)],
                 "locale_chosen": True, "blocked": False, "consent": True, "consent_at": joined,
                 "municipality": rng.choice(["toshima-ku", "matsudo-shi", None]), "created_at": joined,
                 "updated_at": joined} for i in range(first, first + count)]).scalars().all()
            rows = []
            for user_id in ids:
                pregnant = rng.random() < 0.2
                rows.append({"user_id": user_id, "consented_at": joined, "starts_on": date(2027, 1, 1),
                             "updated_at": joined,
                             "birth_date": None if pregnant else START - timedelta(days=rng.randint(0, 3 * 365 + 180)),
                             "due_date": START + timedelta(days=rng.randint(1, 300)) if pregnant else None})
            session.execute(insert(ReminderSubscription), rows)


def run(users: int, days: int) -> dict:
    from sqlalchemy import select

    from bot.settings import load_settings
    from bot.services import build_services
    from bot.store.reminders import ReminderSubscription
    from tests.support.sim_clock import SimClock

    start = machine()
    fake_line = start_fake_line()
    with temp_dir("reminders") as tmp_name, RedisServer(Path(tmp_name) / "redis") as redis_server:
        tmp = Path(tmp_name)
        url, drop = _database(tmp)
        try:
            services = build_services(load_settings(bot_env(tmp, redis_server.url, fake_line.url, url)))
            clock = services.clock = SimClock(datetime(2027, 4, 1, tzinfo=timezone.utc))
            services.content.current()                 # loading the content (index, texts) is not the sweep's cost
            services.reminder_sweep().due_today(START - timedelta(days=30))     # warm-up: schedule, SQL compiled
            began = time.perf_counter()
            generate(services.sessions, users)
            generated_s = time.perf_counter() - began

            def bare_scan() -> int:
                with services.sessions() as session:
                    return len(session.execute(select(ReminderSubscription.user_id, ReminderSubscription.birth_date,
                                                      ReminderSubscription.due_date)).all())

            scans, selections, sweeps, pushed, baseline_pushes = [], [], [], [], []
            for offset in range(days):
                day = START + timedelta(days=offset)
                clock.at(day)
                scans.append(_timed(bare_scan)[0])
                seconds, due = _timed(lambda: services.reminder_sweep().due_today(day))
                selections.append(seconds)
                seconds, report = _timed(lambda: services.reminder_sweep().run(clock.at(day)))
                sweeps.append(seconds)
                pushed.append(report.pushed)
                baseline_pushes.append(_bare_pushes(services, report.pushed))
            peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            day = START + timedelta(days=days)
            tracemalloc.start()
            report = services.reminder_sweep().run(clock.at(day))
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            services.engine.dispose()
        finally:
            drop()
            fake_line.stop()
    return {"machine": start, "load_after": load(), "database": "postgresql" if url.startswith("postgresql") else "sqlite",
            "users": users, "days": days, "generate_s": round(generated_s, 1),
            "reminders_per_day": pushed,
            "bare_scan_of_all_subscriptions": _stats(scans),
            "selection_due_today": _stats(selections),
            "whole_sweep": _stats(sweeps),
            "bare_pushes_same_count": _stats(baseline_pushes),
            "peak_rss_mb": round(peak_rss, 1), "tracemalloc_peak_one_sweep_mb": round(traced_peak, 1),
            "traced_sweep_pushed": report.pushed}


def _bare_pushes(services, count: int) -> float:
    """The same number of pushes straight through the SDK (no database, no schedule)."""
    message = [{"type": "text", "text": "bench"}]
    began = time.perf_counter()
    for _ in range(count):
        services.messenger.push("Ubenchbaseline", message, str(uuid.uuid4()))
    return time.perf_counter() - began


def _timed(call):
    began = time.perf_counter()
    result = call()
    return time.perf_counter() - began, result


def _stats(values: list[float]) -> dict:
    return {"p50_ms": ms(percentile(values, 0.5)), "p99_ms": ms(percentile(values, 0.99)), "max_ms": ms(max(values))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    r = run(args.users, args.days)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    m = r["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, {m['platform']}; "
          f"load average {m['load_1min']} at start, {r['load_after']} at end")
    print(f"{r['users']} parents in {r['database']} (generated in {r['generate_s']} s); {r['days']} days at 10:00 JST; "
          f"reminders per day: {r['reminders_per_day']}\n")
    print(f"{'':<46}{'p50':>11}{'p99':>11}{'max':>11}")
    for label, key in (("bare SELECT of every subscription (baseline)", "bare_scan_of_all_subscriptions"),
                       ("due_today(): who gets what today", "selection_due_today"),
                       ("whole sweep (write + push to fake LINE)", "whole_sweep"),
                       ("bare pushes, same count (baseline)", "bare_pushes_same_count")):
        s = r[key]
        print(f"{label:<46}{s['p50_ms']:>8} ms{s['p99_ms']:>8} ms{s['max_ms']:>8} ms")
    print(f"\npeak RSS of the process: {r['peak_rss_mb']} MB; tracemalloc peak during one sweep: "
          f"{r['tracemalloc_peak_one_sweep_mb']} MB ({r['traced_sweep_pushed']} reminders)")


if __name__ == "__main__":
    main()
