"""Announcements: planning and sending one notice to many parents in 17 languages.

    .venv/bin/python bench/announce_send.py [--users 10000] [--runs 3] [--database-url postgresql+psycopg2://...] [--json]

Generates consenting parents, then for each run creates a reviewed announcement and sends it in
this process with the real sender (bot/announce/sending.py: plan, one transaction per batch, the
real line-bot-sdk client) to the fake LINE server in its own process. The bare baseline sends the
same batches with the same client straight to the fake, with no database. Prints per-run totals
(median) and per-batch call times (p50/p99) for both, with the machine's load average.
"""
from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path

from _harness import (
    ACCESS_TOKEN,
    FakeLineProcess,
    RedisServer,
    bot_env,
    load,
    machine,
    migrated_database,
    ms,
    percentile,
    temp_dir,
)


class TimedMulticaster:
    def __init__(self, inner):
        self.inner, self.times = inner, []

    def multicast(self, to, messages, retry_key):
        started = time.perf_counter()
        result = self.inner.multicast(to, messages, retry_key)
        self.times.append(time.perf_counter() - started)
        return result


def run(users: int, runs: int, database_url: str | None) -> dict:
    from sqlalchemy import select

    from bot import LOCALES
    from bot.adapters.line_multicast import LineMulticaster
    from bot.announce import drafts
    from bot.announce.segment import Segment
    from bot.announce.wiring import announcement_sender
    from bot.inbox.auth import create_advisor
    from bot.services import build_services
    from bot.settings import load_settings
    from bot.store.announcements import AnnouncementBatch
    from bot.store.database import upgrade_database
    from bot.store.models import User

    start = machine()
    with temp_dir("announce") as tmp_name, RedisServer(Path(tmp_name) / "redis") as redis_server, FakeLineProcess() as line:
        tmp = Path(tmp_name)
        if database_url:
            upgrade_database(database_url)
        url = database_url or migrated_database(tmp)
        services = build_services(load_settings(bot_env(tmp, redis_server.url, line.url, url)))
        with services.sessions.begin() as session:
            admin_id = create_advisor(session, f"bench-{uuid.uuid4().hex[:6]}@npo.example", "bench-admin-password-1", "admin").id
            session.execute(User.__table__.insert(), [
                {"line_user_id": f"U{uuid.uuid4().hex}", "locale": LOCALES[i % len(LOCALES)], "locale_chosen": True,
                 "consent": True, "blocked": False} for i in range(users)])
        totals, plan_times, bare_totals = [], [], []
        timed = TimedMulticaster(services.multicaster)
        services.multicaster = timed
        bare = TimedMulticaster(LineMulticaster(line.url, ACCESS_TOKEN, 10))
        for _ in range(runs):
            now = services.clock.now()
            with services.sessions.begin() as session:
                item = drafts.create_draft(session, admin_id, "bench", "お知らせ本文です。", Segment(tuple(LOCALES)))
                for locale in drafts.translations(session, item.id):
                    drafts.edit_translation(session, item, locale, admin_id, f"[{locale}] notice")
                    drafts.mark_reviewed(session, item, locale, admin_id, now)
                drafts.schedule(session, item, admin_id, now, now)
                announcement_id = item.id
            sender = announcement_sender(services)
            started = time.perf_counter()
            sender._start(announcement_id)                    # planning alone (what run() does first)
            plan_times.append(time.perf_counter() - started)
            status = sender.run(announcement_id)
            totals.append(time.perf_counter() - started)
            assert status == "sent", status
            with services.sessions() as session:
                sizes = list(session.scalars(select(AnnouncementBatch.recipient_count)
                                                          .where(AnnouncementBatch.announcement_id == announcement_id)))
            # Bare baseline: the same number and size of calls, no database, fresh keys.
            started = time.perf_counter()
            for size in sizes:
                bare.multicast([f"U{uuid.uuid4().hex}" for _ in range(size)], [{"type": "text", "text": "notice"}],
                               str(uuid.uuid4()))
            bare_totals.append(time.perf_counter() - started)
        services.engine.dispose()
    return {"machine": start, "load_after": load(), "users": users, "runs": runs, "calls_per_run": len(sizes),
            "database": "postgresql" if database_url else "sqlite",
            "plan_s_median": round(percentile(plan_times, 0.5), 2),
            "send_total_s_median": round(percentile(totals, 0.5), 2),
            "bare_total_s_median": round(percentile(bare_totals, 0.5), 2),
            "call_ms": {"p50": ms(percentile(timed.times, 0.5)), "p99": ms(percentile(timed.times, 0.99))},
            "bare_call_ms": {"p50": ms(percentile(bare.times, 0.5)), "p99": ms(percentile(bare.times, 0.99))}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run(args.users, args.runs, args.database_url)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    m = r["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}; load average {m['load_1min']} at start, "
          f"{r['load_after']} at end")
    print(f"{r['users']} parents in 17 languages, {r['database']}, {r['calls_per_run']} multicast calls per run, {r['runs']} runs")
    print(f"plan (freeze recipients into batches): median {r['plan_s_median']} s")
    print(f"whole send (plan + calls + a commit per batch): median {r['send_total_s_median']} s;"
          f" bare calls alone: median {r['bare_total_s_median']} s")
    print(f"one multicast call: p50 {r['call_ms']['p50']} ms, p99 {r['call_ms']['p99']} ms "
          f"(bare: p50 {r['bare_call_ms']['p50']} ms, p99 {r['bare_call_ms']['p99']} ms)")


if __name__ == "__main__":
    main()
