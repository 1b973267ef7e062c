"""A hanging Translation API must not slow the webhook or the inbox (issue 13, item 8).

    .venv/bin/python bench/translation_hang.py [--seconds 20] [--json]

The web service under gunicorn with the production settings (app.yaml), SQLite (the worse case
for locks), a worker, and the fake Translation endpoint. One case holds 30 untranslated messages
from a Vietnamese mother. Two phases of S seconds each: the translator answering, then hanging
(every call waits until the phase ends). In each phase, at the same time:
  - /callback receives an open loop of 200 events/s (latency from the scheduled send time);
  - 4 advisors reload the case page as fast as it answers, and each adds a note every 10th time
    (a database write, which "database is locked" would refuse on SQLite).
Printed: /callback p50/p99, case pages and notes answered with their p50/p99 and failures, and
whether the gunicorn log mentions "database is locked".
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import re
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from _harness import (FakeLineProcess, Gunicorn, RedisServer, bot_env, load, machine, migrated_database, ms,
                      open_loop, percentile, signed_request, start_worker, temp_dir, wait_for_workers)

RATE = 200
ADVISORS = 4
PASSWORD = "bench horse battery staple"
MOTHER = "U" + "b" * 32


def seed(database_url: str) -> int:
    """One advisor per page loader, and a case whose 30 messages have no translation yet."""
    from bot.inbox.auth import create_advisor
    from bot.store.database import make_engine, make_session_factory
    from bot.store.models import Case, Message, User
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        for n in range(ADVISORS):
            create_advisor(session, f"advisor{n}@bench.example", PASSWORD, "advisor", f"相談員{n}")
        user = User(line_user_id=MOTHER, display_name="Lan", locale="vi", locale_chosen=True, consent=True)
        session.add(user)
        session.flush()
        for n in range(30):
            session.add(Message(user_id=user.id, direction="in", sender="user", kind="text",
                                text=f"Con tôi bị sốt từ hôm qua ({n})", event_id=f"seed-{n}"))
        case = Case(user_id=user.id, locale="vi", topic="health", priority="normal", priority_rank=2, status="waiting")
        session.add(case)
        session.flush()
        case_id = case.id
    engine.dispose()
    return case_id


class Advisor:
    """An inbox session over plain http.client (the Secure session cookie is sent by hand)."""

    def __init__(self, port: int, email: str):
        self.port, self.cookie, self.csrf = port, "", ""
        page = self.request("GET", "/inbox/login")[1]
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/inbox/login", {"email": email, "password": PASSWORD, "csrf_token": self.csrf})
        assert status == 302, f"login failed: {status}"
        page = self.request("GET", "/inbox/")[1]              # logging in issued a new CSRF token
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie" and value.startswith("session="):
                    self.cookie = value.split(";", 1)[0]
            return answer.status, text
        finally:
            connection.close()


def load_pages(advisor: Advisor, case_id: int, stop: threading.Event, records: list) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        started = time.monotonic()
        try:
            if n % 10 == 0:
                status, _ = advisor.request("POST", f"/inbox/cases/{case_id}/action",
                                            {"action": "note", "note": f"bench note {n}", "csrf_token": advisor.csrf})
                kind, ok = "note", status == 302
            else:
                status, page = advisor.request("GET", f"/inbox/cases/{case_id}")
                kind, ok = "page", status == 200 and "Con tôi bị sốt" in page
        except OSError:
            kind, ok = ("note" if n % 10 == 0 else "page"), False
        records.append({"kind": kind, "ok": ok, "latency": time.monotonic() - started})


def callbacks(count: int) -> list[bytes]:
    from tests.support.line_events import body_of, text_event
    users = [f"U{uuid.uuid4().hex}" for _ in range(200)]
    return [signed_request(body_of(text_event(users[i % len(users)], "Hello"))) for i in range(count)]


def phase(port: int, advisors: list[Advisor], case_id: int, seconds: float) -> dict:
    stop, records = threading.Event(), []
    threads = [threading.Thread(target=load_pages, args=(a, case_id, stop, records)) for a in advisors]
    for thread in threads:
        thread.start()
    webhook = asyncio.run(open_loop(port, callbacks(int(RATE * seconds)), RATE))
    stop.set()
    for thread in threads:
        thread.join(60)
    webhook.pop("records")
    result = {"callback": webhook}
    for kind in ("page", "note"):
        latencies = [r["latency"] for r in records if r["kind"] == kind]
        result[kind] = {"answered": sum(1 for r in records if r["kind"] == kind and r["ok"]),
                        "failed": sum(1 for r in records if r["kind"] == kind and not r["ok"]),
                        "p50_ms": ms(percentile(latencies, 0.5)), "p99_ms": ms(percentile(latencies, 0.99))}
    return result


def run(seconds: float) -> dict:
    from bot.devtools.fake_translate import FakeTranslateServer
    results: dict = {"machine": machine(), "seconds": seconds, "rate": RATE, "advisors": ADVISORS}
    translate = FakeTranslateServer()
    try:
        with temp_dir("translation") as tmp_name, RedisServer(f"{tmp_name}/redis") as redis_server, \
                FakeLineProcess() as line:
            tmp = Path(tmp_name)
            database = migrated_database(tmp)
            case_id = seed(database)
            env = {**bot_env(tmp, redis_server.url, line.url, database), "TRANSLATE_BACKEND": "google",
                   "GOOGLE_CLOUD_PROJECT": "bench", "TRANSLATE_API_ENDPOINT": translate.url}
            worker = start_worker(env, tmp / "worker.log")
            try:
                wait_for_workers(redis_server, [worker], tmp / "worker.log")
                with Gunicorn("bot.app:create_app()", env, tmp / "web.log") as web:
                    advisors = [Advisor(web.port, f"advisor{n}@bench.example") for n in range(ADVISORS)]
                    results["answering"] = phase(web.port, advisors, case_id, seconds)
                    _forget_translations(redis_server, database)
                    translate.state.hold()
                    # Measure while the worker's translation job is stuck in the translator (once
                    # it has drained the first phase's events, which come first in its queues).
                    advisors[0].request("GET", f"/inbox/cases/{case_id}")
                    results["hanging_before_phase"] = translate.state.hang_started.wait(180)
                    results["hanging"] = phase(web.port, advisors, case_id, seconds)
                    results["hanging"]["translator_calls_hung"] = translate.state.hung_total
                    translate.state.release()
                log = (tmp / "web.log").read_text(errors="replace") + (tmp / "worker.log").read_text(errors="replace")
                results["database_is_locked_in_logs"] = log.count("database is locked")
            finally:
                worker.terminate()
                worker.wait(30)
    finally:
        translate.stop()
    results["load_after"] = load()
    return results


def _forget_translations(redis_server: RedisServer, database_url: str) -> None:
    """The hanging phase starts from untranslated messages again, as the first one did."""
    from sqlalchemy import update
    from bot.store.database import make_engine, make_session_factory
    from bot.store.models import Message
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        session.execute(update(Message).values(translation=None))
    engine.dispose()
    client = redis_server.client()
    for key in client.scan_iter("bot:inbox-tr:*"):
        client.delete(key)
    for key in client.scan_iter("bot:tr:*"):
        client.delete(key)


def print_table(r: dict) -> None:
    m = r["machine"]
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}; load average {m['load_1min']} at start, "
          f"{r['load_after']} at end")
    print(f"gunicorn 2 workers x 8 threads, SQLite, 1 worker; {r['seconds']:.0f} s per phase; /callback open loop "
          f"{r['rate']}/s; {r['advisors']} advisors reloading one case of 30 untranslated messages\n")
    print(f"{'translator':<12}{'callback p50':>14}{'p99':>10}{'failed':>8}   {'pages':>7}{'p50':>11}{'p99':>11}{'failed':>8}"
          f"   {'notes':>6}{'failed':>8}")
    for name in ("answering", "hanging"):
        c, p, n = r[name]["callback"], r[name]["page"], r[name]["note"]
        print(f"{name:<12}{c['p50_ms']!s:>11} ms{c['p99_ms']!s:>7} ms{c['requests'] - c['ok']:>8}   {p['answered']:>7}"
              f"{p['p50_ms']!s:>8} ms{p['p99_ms']!s:>8} ms{p['failed']:>8}   {n['answered']:>6}{n['failed']:>8}")
    print(f"\ntranslator calls that hung (each until its 5 s timeout): {r['hanging']['translator_calls_hung']}")
    print(f"the worker's translation job was hanging when the phase began: {r['hanging_before_phase']}")
    print(f"'database is locked' in the web and worker logs: {r['database_is_locked_in_logs']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    results = run(args.seconds)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
