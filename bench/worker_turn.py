"""CPU of the worker's turn, without RQ, gunicorn or the network load client.

    .venv/bin/python bench/worker_turn.py [--events 400] [--database postgresql|sqlite] [--profile N]

Events of the end-to-end mix (a new user says hello, agrees to the notice, asks questions; and
parents who already agreed tap a topic or ask) are appended to the users' lists in a private
Redis the way the webhook does, then `EventProcessor.drain` handles them in this process against
a fresh database and the fake LINE server (own process). Prints CPU ms per event (process time /
events; robust to other load on the machine) and the wall time, with the bare floor from the
same run: the drain of bench/bare_worker.py (pop and reply "ok", no database, no content).
--profile N prints the N costliest functions (cumulative) of the bot's drain under cProfile.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

from _harness import (ACCESS_TOKEN, SECRET, FakeLineProcess, PostgresServer, RedisServer, load, machine,
                      migrated_database, temp_dir)

QUESTIONS = ["where is the city office", "hoikuen waiting list", "vaccination for my baby",
             "child allowance application", "health checkup for 4 month old baby", "japanese class for parents"]
TAPS = ["menu:health", "menu:nursery", "menu:money", "menu", "menu:birth", "menu:visa"]


def mixed_events(count: int) -> list[dict]:
    """Half from new users (hello, agree, questions), half from parents who agreed (tap or ask)."""
    from tests.support.line_events import postback_event, text_event
    events = []
    newcomers = [f"U{uuid.uuid4().hex}" for _ in range(max(1, count // 10))]
    for i in range(count // 2):
        user, turn = newcomers[i % len(newcomers)], i // len(newcomers)
        events.append(text_event(user, "hello") if turn == 0 else postback_event(user, "privacy:agree") if turn == 1
                      else text_event(user, QUESTIONS[(i + turn) % len(QUESTIONS)]))
    for i in range(count - count // 2):
        user = f"U{uuid.uuid4().hex}"
        events.append(postback_event(user, TAPS[i % len(TAPS)]) if i % 2 == 0
                      else text_event(user, QUESTIONS[i % len(QUESTIONS)]))
    return events


def seed_agreed(database_url: str, users: list[str]) -> None:
    from sqlalchemy import insert

    from bot.store.database import make_engine
    from bot.store.models import User, utcnow
    engine = make_engine(database_url)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(insert(User), [{"line_user_id": u, "locale": "en", "locale_chosen": True, "blocked": False,
                                           "consent": True, "consent_at": now, "created_at": now, "updated_at": now}
                                          for u in users])
    engine.dispose()


def run(count: int, database: str, profile_top: int, profile_out: str | None = None) -> dict:
    from bot.services import build_services
    from bot.settings import load_settings

    with temp_dir("turn") as tmp_name, RedisServer(Path(tmp_name) / "redis") as redis_server, \
            (PostgresServer(Path(tmp_name)) if database == "postgresql" else nullcontext()) as postgres, \
            FakeLineProcess() as fake:
        tmp = Path(tmp_name)
        url = migrated_database(tmp, postgres.url if postgres else None)
        env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN, "LINE_API_HOST": fake.url,
               "REDIS_URL": redis_server.url, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "x"}
        services = build_services(load_settings(env))
        services.content.current()
        events = mixed_events(count)
        seed_agreed(url, [e["source"]["userId"] for e in events[count // 2:]])
        processor = services.event_processor()

        def drain_all(batch: list[dict], drain) -> tuple[float, float]:
            for event in batch:
                event["timestamp"] = int(time.time() * 1000)
            services.event_queue.enqueue(batch)
            partitions = list(dict.fromkeys(e["source"]["userId"] for e in batch))
            cpu, wall = time.process_time(), time.perf_counter()
            for partition in partitions:
                drain(partition)
            return time.process_time() - cpu, time.perf_counter() - wall

        drain_all(mixed_events(20), processor.drain)                  # warm-up: imports, caches, connections
        profiler = cProfile.Profile(time.process_time) if profile_top else None   # CPU time: robust to load
        with (profiler if profiler else nullcontext()):
            cpu, wall = drain_all(events, processor.drain)
        sys.path.insert(0, str(Path(__file__).parent))
        import os
        os.environ.update(env)
        import bare_worker
        bare_cpu, bare_wall = drain_all(mixed_events(count), bare_worker.bare_drain)
        services.engine.dispose()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile_top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile_top)
        if profile_out:
            profiler.dump_stats(profile_out)
    return {"events": count, "database": database, "cpu_ms_per_event": round(cpu * 1000 / count, 2),
            "wall_ms_per_event": round(wall * 1000 / count, 2), "bare_cpu_ms_per_event": round(bare_cpu * 1000 / count, 2),
            "bare_wall_ms_per_event": round(bare_wall * 1000 / count, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--profile-out", metavar="FILE", help="with --profile: also save the pstats data there")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    start = machine()
    result = run(args.events, args.database, args.profile, args.profile_out)
    result.update(machine=start, load_after=load())
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"machine: {start['cpu']}, {start['cpus']} CPUs, Python {start['python']}; load average "
          f"{start['load_1min']} at start, {result['load_after']} at end")
    print(f"{args.events} events on {args.database}, EventProcessor.drain in one process (no RQ):")
    print(f"  bot : CPU {result['cpu_ms_per_event']} ms/event, wall {result['wall_ms_per_event']} ms/event")
    print(f"  bare: CPU {result['bare_cpu_ms_per_event']} ms/event, wall {result['bare_wall_ms_per_event']} ms/event")


if __name__ == "__main__":
    main()
