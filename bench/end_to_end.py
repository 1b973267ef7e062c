"""End to end: from POST /callback to the answer arriving at the fake LINE server.

    .venv/bin/python bench/end_to_end.py [--events 500] [--rate 50] [--json] [--logs DIR]
        [--database sqlite|postgresql] [--workers 1,2,4] [--scenario steady|broadcast] [--seconds S]
        [--bare]

N events from about N/5 users are posted at 50 events/s to the web service under gunicorn; real
Redis and `python -m bot worker` processes handle them and answer through the fake LINE server
(its own process, validating every call against LINE's spec). Each worker count runs with a
fresh Redis and database. Each user writes "hello" (a new user is answered with the privacy
notice), agrees to the privacy notice, then asks questions the resource index answers.

--database postgresql: a fresh database on TEST_DATABASE_URL's server, or a private cluster
(initdb in a temporary directory). --seconds S: rate x S events (the issue's "100/s for 60 s").
--scenario broadcast: the minute after an announcement. 2,000 parents who follow the account
and agreed to the notice (written to the database before the run) each answer once within
20 s, half by tapping a quick-reply topic, half with a question; answers are counted by reply
(free) and by push (paid). --scenario backlog: saturation without the load client and the
webhook on the same cores: the workers are paused (SIGSTOP) while the events are posted, then
resumed; events/s is how fast they empty the backlog, and "busy" the share of both cores in use
meanwhile (all processes). --bare adds, per worker count, the same run with bench/bare_worker.py
(the same webhook, Redis, RQ and LINE SDK, but a drain that replies "ok" with no database or
content): the floor the bot's own work adds to.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import uuid
from pathlib import Path

import time
import urllib.request
from contextlib import nullcontext

from _harness import (ROOT, FakeLineProcess, Gunicorn, PostgresServer, RedisServer, bot_env, cpu_seconds, load,
                      cpu_by_role, machine, machine_busy, migrated_database, ms, open_loop, percentile, rss_mb, signed_request,
                      start_worker, stop_process, temp_dir, wait_for_workers, wait_until)

RATE = 50                # events/s, the budget's load (--rate changes it)
BROADCAST_USERS = 2000
BROADCAST_SECONDS = 20
REPLY_WINDOW_S = 50      # an answer later than this could not go by reply token
# What parents tap after an announcement: the quick-reply topics of the main menu.
TAPS = ["menu:health", "menu:nursery", "menu:money", "menu", "menu:birth", "menu:visa"]
LOCALES = ["en", "vi", "zh-Hans", "pt-BR", "tl", "ne", "ko", "id"]
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


class LineRecorder:
    """What the fake LINE process received, fetched incrementally (GET /_test/messages?since=)."""

    def __init__(self, url: str):
        self.url, self.received, self._since = url, [], 0.0

    def refresh(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/_test/messages?since={self._since}", timeout=30) as response:
            new = json.loads(response.read())
        if new:
            self.received.extend(new)
            self._since = max(entry["time"] for entry in new)
        return self.received


def answer_times(received: list[dict], events: list[dict], sent: list[float]) -> tuple[list, list]:
    """When the first answer to each event arrived and how (reply/push): by reply token, else
    (push) the user's oldest event still unanswered that was sent before the push."""
    index_of_token = {e["replyToken"]: i for i, e in enumerate(events) if e.get("replyToken")}
    events_of_user: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        events_of_user.setdefault(e["source"]["userId"], []).append(i)
    arrived: list[float | None] = [None] * len(events)
    how: list[str | None] = [None] * len(events)
    for entry in sorted(received, key=lambda r: r["time"]):
        i = index_of_token.get(entry.get("replyToken"))
        if i is None and entry["endpoint"] == "push":
            i = next((j for j in events_of_user.get(entry["to"], ()) if arrived[j] is None and sent[j] is not None
                      and sent[j] <= entry["time"]), None)
        if i is not None and arrived[i] is None:
            arrived[i], how[i] = entry["time"], entry["endpoint"]
    return arrived, how


def fresh_request(event: dict):
    """The signed POST of one event, built when it is sent: its timestamp (which decides whether
    the reply token is still fresh) is the send time, as LINE's would be."""
    from tests.support.line_events import body_of

    def build() -> bytes:
        event["timestamp"] = int(time.time() * 1000)
        return signed_request(body_of(event))
    return build


def post_and_wait(line: LineRecorder, port: int, events: list[dict], rate: float, timeout: float) -> dict:
    return wait_for_answers(line, events, *post(port, events, rate), timeout)


def post(port: int, events: list[dict], rate: float) -> tuple[dict, list]:
    """Post the events open loop; the webhook's figures and when each accepted event was sent."""
    requests = [fresh_request(e) for e in events]
    webhook = asyncio.run(open_loop(port, requests, rate, max_connections=16))
    sent = [None] * len(events)
    for record in webhook.pop("records"):
        if record["status"] == 200:
            sent[record["i"]] = record["sent"]
    return webhook, sent


def wait_for_answers(line: LineRecorder, events: list[dict], webhook: dict, sent: list, timeout: float) -> dict:
    def all_answered() -> bool:
        return None not in answer_times(line.refresh(), events, sent)[0]
    try:
        wait_until(all_answered, timeout, interval=0.5, what="all answers")
    except TimeoutError:
        pass                                  # reported below as answered < events
    arrived, how = answer_times(line.refresh(), events, sent)
    latencies = [a - s for a, s in zip(arrived, sent) if a is not None and s is not None]
    done = [a for a in arrived if a is not None]
    span = max(done) - min(s for s in sent if s is not None) if done else None
    return {"events": len(events), "answered": len(done), "webhook": webhook,
            "by_reply": how.count("reply"), "by_push": how.count("push"),
            "within_50s": sum(1 for x in latencies if x <= REPLY_WINDOW_S),
            "throughput_eps": round(len(done) / span, 1) if span else None,
            "p50_ms": ms(percentile(latencies, 0.5)), "p99_ms": ms(percentile(latencies, 0.99)),
            "max_ms": ms(max(latencies, default=None))}


def broadcast_events(users: list[str]) -> list[dict]:
    """One answer per parent: even ones tap a quick-reply topic, odd ones ask a question."""
    from tests.support.line_events import postback_event, text_event
    return [postback_event(user, TAPS[i % len(TAPS)]) if i % 2 == 0
            else text_event(user, QUESTIONS[i % len(QUESTIONS)]) for i, user in enumerate(users)]


def seed_followers(database_url: str, users: list[str]) -> None:
    """Parents who followed the account and agreed to the notice before the announcement."""
    from sqlalchemy import insert

    from bot.store.database import make_engine
    from bot.store.models import User, utcnow
    engine = make_engine(database_url)
    now = utcnow()
    rows = [{"line_user_id": user, "locale": LOCALES[i % len(LOCALES)], "locale_chosen": True, "blocked": False,
             "consent": True, "consent_at": now, "created_at": now, "updated_at": now} for i, user in enumerate(users)]
    with engine.begin() as connection:
        connection.execute(insert(User), rows)
    engine.dispose()


def run_once(count: int, workers: int, rate: float, logs: Path | None = None, database: str = "sqlite",
             scenario: str = "steady", bare: bool = False) -> dict:
    if scenario == "broadcast":
        users = [f"U{uuid.uuid4().hex}" for _ in range(BROADCAST_USERS)]
        events = broadcast_events(users)
        rate = BROADCAST_USERS / BROADCAST_SECONDS
    else:
        users = [f"U{uuid.uuid4().hex}" for _ in range(max(1, count // 5))]
        events = user_events(users, count)
    label = f"{workers}-workers{'-bare' if bare else ''}"
    with temp_dir(f"e2e-{label}") as tmp_name, RedisServer(Path(tmp_name) / "redis") as redis_server, \
            (PostgresServer(Path(tmp_name)) if database == "postgresql" else nullcontext()) as postgres, \
            FakeLineProcess() as fake:
        tmp = Path(tmp_name)
        line = LineRecorder(fake.url)
        database_url = migrated_database(tmp, postgres.url if postgres else None)
        if scenario == "broadcast":
            seed_followers(database_url, users)
        env = bot_env(tmp, redis_server.url, fake.url, database_url)
        processes = []
        try:
            with Gunicorn("bot.app:create_app()", env, tmp / "web.log") as web:
                processes = [start_bare_worker(env, tmp / "worker.log") if bare else start_worker(env, tmp / "worker.log")
                             for _ in range(workers)]
                # Content loads in every worker at once: on two shared cores that can take minutes.
                wait_for_workers(redis_server, processes, tmp / "worker.log", timeout=600)
                # Warm-up users (not counted): first imports, connections and caches in every process.
                warm = user_events([f"U{uuid.uuid4().hex}" for _ in range(4 * workers)], 16 * workers)
                post_and_wait(line, web.port, warm, rate, timeout=60)
                cpu_before = [cpu_seconds(p.pid) for p in processes]
                roles_before = cpu_by_role()
                started_load = load()
                if scenario == "backlog":
                    result = drain_backlog(line, web.port, events, rate, processes)
                else:
                    busy_before = machine_busy()
                    result = post_and_wait(line, web.port, events, rate, timeout=60 + len(events) / rate)
                    result["busy"] = busy_share(busy_before)
                cpu = [cpu_seconds(p.pid) - before for p, before in zip(processes, cpu_before)]
                answered = max(1, result["answered"])
                result["cpu_ms_per_event_by_role"] = {role: round((used - roles_before.get(role, 0.0)) * 1000 / answered, 2)
                                                      for role, used in cpu_by_role().items()}
                # Per answered event: at saturation some events are still waiting when the run ends.
                result["worker_cpu_ms_per_event"] = round(sum(cpu) * 1000 / max(1, result["answered"]), 2)
                result["worker_cpu_s"] = [round(c, 1) for c in cpu]
                result["worker_rss_mb"] = [rss_mb(p.pid) for p in processes]
                result["load"] = [started_load, load()]
        finally:
            for process in processes:
                stop_process(process)
            # Things in the workers' log that explain slow answers (content is edited live by others).
            text = (tmp / "worker.log").read_text(errors="replace") if (tmp / "worker.log").exists() else ""
            notes = {"content_reloads": text.count("content reloaded"), "tracebacks": text.count("Traceback"),
                     "database_locked": text.count("sqlite3.OperationalError: database is locked")}
            if logs:                                 # keep the web and worker logs for a look later
                logs.mkdir(parents=True, exist_ok=True)
                for log in tmp.glob("*.log"):
                    shutil.copy(log, logs / f"{label}-{log.name}")
    result.update(workers=workers, bare=bare, users=len(users), rate=rate, worker_log=notes)
    return result


def drain_backlog(line: LineRecorder, port: int, events: list[dict], rate: float, workers: list) -> dict:
    """Saturation with nothing but the workers' own path on the cores: the workers are paused
    while every event is posted, then resumed; events/s counts from the resume."""
    import signal
    for worker in workers:
        os.kill(worker.pid, signal.SIGSTOP)
    try:
        webhook, sent = post(port, events, rate)
    finally:
        for worker in workers:
            os.kill(worker.pid, signal.SIGCONT)
    resumed, busy_before = time.time(), machine_busy()
    result = wait_for_answers(line, events, webhook, sent, timeout=60 + len(events) / 50)
    arrived = [entry["time"] for entry in line.received]
    result["busy"] = busy_share(busy_before)
    if arrived:
        result["throughput_eps"] = round(result["answered"] / (max(arrived) - resumed), 1)
    return result


def busy_share(before: tuple[float, float]) -> float:
    """The share of all cores busy since `before` (machine_busy)."""
    busy, total = machine_busy()
    return round((busy - before[0]) / max(1e-9, total - before[1]), 2)


def start_bare_worker(env: dict, log_path: Path):
    import subprocess
    import sys
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_worker.py")], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--seconds", type=float, help="send rate x seconds events instead of --events")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--rate", type=float, default=RATE, help="events per second (default: the budget's 50)")
    parser.add_argument("--logs", type=Path, help="copy the web and worker logs into this directory")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2,4 (default 1,2)")
    parser.add_argument("--scenario", choices=["steady", "broadcast", "backlog"], default="steady")
    parser.add_argument("--bare", action="store_true", help="also run bench/bare_worker.py at each worker count")
    args = parser.parse_args()
    count = int(args.rate * args.seconds) if args.seconds else args.events
    start = machine()
    runs = []
    for workers in (int(w) for w in args.workers.split(",")):
        for bare in ((False, True) if args.bare else (False,)):
            runs.append(run_once(count, workers, args.rate, args.logs, args.database, args.scenario, bare))
    report = {"machine": start, "load_after": load(), "rate": runs[0]["rate"], "database": args.database,
              "scenario": args.scenario, "runs": runs}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print_table(report)


def print_table(report: dict) -> None:
    m, runs = report["machine"], report["runs"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, {m['platform']}; "
          f"load average {m['load_1min']} at start, {report['load_after']} at end")
    what = (f"broadcast: {runs[0]['users']} parents answer within {BROADCAST_SECONDS} s" if report["scenario"] == "broadcast"
            else f"{runs[0]['events']} events from {runs[0]['users']} users"
            + (", posted while the workers were paused, events/s from their resume" if report["scenario"] == "backlog"
               else ""))
    print(f"{what} at {report['rate']:g}/s on {report['database']}; gunicorn 2x8 gthread; "
          "latency = POST sent -> answer at the fake LINE server\n")
    print(f"{'workers':>10}{'answered':>10}{'events/s':>10}{'p50':>11}{'p99':>11}{'max':>11}{'reply/push':>12}"
          f"{'webhook p99':>13}{'CPU/event':>11}  {'CPU s per worker':<18}{'busy':>5}{'load':>11}")
    for r in runs:
        name = f"{r['workers']}{' bare' if r['bare'] else ''}"
        print(f"{name:>10}{r['answered']:>5}/{r['events']:<4}{r['throughput_eps']!s:>10}{r['p50_ms']!s:>8} ms"
              f"{r['p99_ms']!s:>8} ms{r['max_ms']!s:>8} ms{r['by_reply']:>7}/{r['by_push']:<4}{r['webhook']['p99_ms']!s:>10} ms"
              f"{r['worker_cpu_ms_per_event']!s:>8} ms  {' '.join(str(c) for c in r['worker_cpu_s']):<18}"
              f"{r['busy']:>5}{r['load'][0]:>6}-{r['load'][1]:<5}")
    print("\nbudgets: 100/s for 60 s with 2 workers: p50 <= 100 ms, p99 <= 1 s; 4 workers >= 1.8x one at saturation;"
          "\n         broadcast, 4 workers: every answer within 50 s, by reply (0 pushes); worker CPU <= 4 ms per event")
    print("\nCPU ms per answered event, all processes of the machine by role:")
    for r in runs:
        roles = ", ".join(f"{role} {value}" for role, value in sorted(r["cpu_ms_per_event_by_role"].items(),
                                                                      key=lambda item: -item[1]))
        print(f"{r['workers']:>10}{' bare' if r['bare'] else '     '}  {roles}")
    for r in runs:
        if any(r["worker_log"].values()):
            print(f"{r['workers']} worker(s){' bare' if r['bare'] else ''}, in the workers' log: {r['worker_log']}")


if __name__ == "__main__":
    main()
