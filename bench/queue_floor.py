"""The queue's own CPU per event: RQ jobs and Redis scripts, with the turn replaced by nothing.

    .venv/bin/python bench/queue_floor.py [--users 2000] [--events-per-user 1] [--reply] [--workers 1]

A broadcast's shape: N users with one event each (or more) are appended by the webhook's own
RqEventQueue to a private Redis, then `--workers` burst RQ SimpleWorker processes (in this
machine, started together) run whatever jobs the webhook queued, with bare job functions that
pop each user's events (and with --reply answer each "ok" through the real LineMessenger and
the fake LINE server). Prints the workers' CPU (user + system) per event: the floor that the
queue alone puts under every event, whatever the turn costs. Works on a checkout with per-user
drain jobs (bot.jobs.drain_partition only) and with drainers (bot.jobs.drain_ready).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _harness import ROOT, FakeLineProcess, RedisServer, cpu_seconds, load, machine, temp_dir

WORKER = r'''
import os, sys, json
sys.path.insert(0, os.environ["ROOT"])
import redis
from rq import Queue, SimpleWorker
import bot.jobs
from bot.adapters.redis_queue import WORKER_QUEUES, _events_key
connection = redis.Redis.from_url(os.environ["REDIS_URL"])
messenger = None
if os.environ.get("LINE_API_HOST"):
    from bot.adapters.line import LineMessenger
    messenger = LineMessenger(os.environ["LINE_API_HOST"], "token")

def bare_drain(partition):
    handled = 0
    while (raw := connection.lpop(_events_key(partition))) is not None:
        if messenger is not None:
            messenger.reply(json.loads(raw)["replyToken"], [{"type": "text", "text": "ok"}])
        handled += 1
    return handled

bot.jobs.drain_partition = bare_drain
if hasattr(bot.jobs, "drain_ready"):
    from rq import get_current_job
    from bot.adapters.redis_queue import RedisPartitionInbox
    from bot.pipeline.drainers import Drainer
    inbox = RedisPartitionInbox(connection)
    bot.jobs.drain_ready = lambda: Drainer(inbox, bare_drain).run(get_current_job().id)
sys.stdin.readline()                        # go: every worker registered, the events are queued
queues = [Queue(name, connection=connection) for name in WORKER_QUEUES]
SimpleWorker(queues, connection=connection).work(burst=True, logging_level="WARNING")
'''


def run(users: int, per_user: int, workers: int, reply: bool) -> dict:
    import redis
    from rq import Queue, SimpleWorker

    from bot.adapters.redis_queue import QUEUE_NAME, RqEventQueue
    from tests.support.line_events import text_event
    with temp_dir("queue-floor") as tmp, RedisServer(Path(tmp) / "redis") as server:
        fake = FakeLineProcess().__enter__() if reply else None
        try:
            env = {**os.environ, "ROOT": str(ROOT), "REDIS_URL": server.url, "PYTHONPATH": str(ROOT),
                   "LINE_API_HOST": fake.url if fake else ""}
            processes = [subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=ROOT, stdin=subprocess.PIPE)
                         for _ in range(workers)]
            connection = redis.Redis.from_url(server.url)
            # The drainers' limit is the count of registered workers: register them as RQ does.
            for i in range(workers):
                SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection,
                             name=f"placeholder-{i}").register_birth()
            ids = [f"U{uuid.uuid4().hex}" for _ in range(users)]
            queue = RqEventQueue(connection)
            for turn in range(per_user):
                events = [text_event(user, f"message {turn}") for user in ids]
                for start in range(0, len(events), 100):
                    queue.enqueue(events[start:start + 100])
            jobs = Queue(QUEUE_NAME, connection=connection).count
            time.sleep(2)                                  # imports done in every worker
            before = [cpu_seconds(p.pid) for p in processes]
            started, load_start = time.monotonic(), load()
            for p in processes:
                p.stdin.write(b"go\n")
                p.stdin.flush()
            cpu = []
            for p, b in zip(processes, before):
                # a burst worker exits when the queues are empty; read its CPU just before
                while p.poll() is None:
                    try:
                        last = cpu_seconds(p.pid)
                    except (OSError, IndexError):
                        break
                    time.sleep(0.05)
                cpu.append(last - b)
            wall = time.monotonic() - started
            left = sum(connection.llen(f"bot:events:{u}") for u in ids)
        finally:
            if fake:
                fake.__exit__(None, None, None)
    events = users * per_user
    return {"users": users, "events": events, "workers": workers, "reply": reply, "jobs_queued_by_webhook": jobs,
            "left": left, "cpu_ms_per_event": round(sum(cpu) * 1000 / events, 3), "wall_s": round(wall, 2),
            "load": [load_start, load()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--events-per-user", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reply", action="store_true", help="answer each event through LineMessenger")
    args = parser.parse_args()
    print(json.dumps({"machine": machine(), **run(args.users, args.events_per_user, args.workers, args.reply)}))


if __name__ == "__main__":
    main()
