"""Shared helpers for the hand-run benchmarks in bench/: servers, processes, a load client, figures.

Everything listens on 127.0.0.1 only, every wait has a deadline, and every process started here
is stopped by the object that started it. Run scripts from the repository root with the venv's
Python, e.g. `.venv/bin/python bench/webhook_load.py --seconds 5`.
"""
from __future__ import annotations

import asyncio
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:            # so `python bench/x.py` can import bot, bench and tests.support
    sys.path.insert(0, str(ROOT))

SECRET = "bench-channel-secret"
ACCESS_TOKEN = "bench-access-token"
# The production settings (app.yaml), the same for every app measured so results compare.
GUNICORN_SETTINGS = ["--workers", "2", "--threads", "8", "--worker-class", "gthread"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout:.0f} s")


def stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop one process we started: the given signal first, SIGKILL if it does not exit in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return round(int(match.group(1)) / 1024, 1) if match else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The child processes of `pid` (gunicorn's workers)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (the same definition as the dashboard's)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * share))
    return ordered[rank - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def machine() -> dict:
    model = "unknown"
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = match.group(1).strip() if match else model
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": model, "cpus": os.cpu_count(),
            "python": platform.python_version(), "load_1min": load()}


def machine_busy() -> tuple[float, float]:
    """(CPU seconds busy, CPU seconds in all) of the whole machine so far, all cores (/proc/stat):
    the share busy over a run says whether the cores, not the workers, were the limit."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]                          # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


ROLES = (("worker", ("bot worker", "bare_worker")), ("web", ("bot.app",)), ("fake LINE", ("fake_line_app",)),
         ("postgres", ("postgres",)), ("redis", ("redis-server",)))


def cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by every process of the machine, summed per role (by command
    line; "other" is the rest: the bench itself and anything else running)."""
    used: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue                                         # ended meanwhile
        role = next((name for name, marks in ROLES if any(mark in command for mark in marks)), "other")
        used[role] = used.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def load() -> float:
    """1-minute load average: other work on the same cores skews every figure, so runs record it."""
    return round(os.getloadavg()[0], 2)


# ---- Redis, database, environment --------------------------------------------------------------------

class RedisServer:
    """A private, non-persistent redis-server on a free port (never the machine's shared one)."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if not binary:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ping, 10, what=f"redis-server on port {self.port}")
        return self

    def client(self):
        import redis
        return redis.Redis(port=self.port, socket_timeout=5)

    def _ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:      # noqa: BLE001 - not up yet
            return False

    def flush(self) -> None:
        self.client().flushall()

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def migrated_database(tmp: Path, url: str | None = None) -> str:
    """A fresh schema: SQLite in `tmp` unless a (PostgreSQL) URL is given."""
    from bot.store.database import upgrade_database
    url = url or f"sqlite:///{tmp / 'bot.sqlite3'}"
    upgrade_database(url)
    return url


class PostgresServer:
    """A fresh PostgreSQL database for one run, dropped afterwards.

    With TEST_DATABASE_URL set, a new database `bench_<random>` is created on that server;
    otherwise a private cluster is initialised (initdb) in `workdir` and started on a free
    loopback port with the distribution's default settings (fsync on, as in production).
    """

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.process_dir: Path | None = None
        self._owner: list[str] = []
        self.admin_url = os.environ.get("TEST_DATABASE_URL")
        self.name = f"bench_{os.urandom(4).hex()}"
        self.url = ""

    def __enter__(self) -> "PostgresServer":
        if not self.admin_url:
            self.admin_url = self._start_private_cluster()
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = self.admin_url.rsplit("/", 1)[0] + "/" + self.name
        return self

    def __exit__(self, *exc):
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            if self.process_dir:
                subprocess.run([*self._owner, self._binary("pg_ctl"), "stop", "-D", str(self.process_dir), "-m", "fast", "-w"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    @staticmethod
    def _binary(name: str) -> str:
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")) or ([Path(shutil.which(name))] if shutil.which(name) else [])
        if not found:
            raise SystemExit(f"{name} not found: install PostgreSQL or set TEST_DATABASE_URL")
        return str(found[-1])

    def _start_private_cluster(self) -> str:
        data = self.workdir / "pgdata"
        port = free_port()
        as_owner = self._as_cluster_owner()
        subprocess.run([*as_owner, self._binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        subprocess.run([*as_owner, self._binary("pg_ctl"), "start", "-D", str(data), "-w", "-l", str(data / "server.log"),
                        "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        self.process_dir, self._owner = data, as_owner
        return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"

    def _as_cluster_owner(self) -> list[str]:
        """PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` account."""
        if os.geteuid() != 0:
            return []
        import pwd
        account = pwd.getpwnam("postgres")
        self.workdir.chmod(0o755)
        os.chown(self.workdir, account.pw_uid, account.pw_gid)
        return ["runuser", "-u", "postgres", "--"]


def bot_env(tmp: Path, redis_url: str, line_url: str, database_url: str) -> dict:
    return {**os.environ, "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
            "LINE_API_HOST": line_url, "REDIS_URL": redis_url, "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench-secret-key", "PYTHONPATH": str(ROOT)}


# ---- the fake LINE server ------------------------------------------------------------------------------

def start_fake_line():
    """The fake LINE API in this process: its `.state.received` shows what arrived and when."""
    from bot.devtools.fake_line import FakeLineServer
    return FakeLineServer().start()


class DelayedApp:
    """WSGI wrapper that makes every call take `delay` seconds longer: LINE having a slow moment."""

    def __init__(self, app, delay: float):
        self.app, self.delay = app, delay

    def __call__(self, environ, start_response):
        time.sleep(self.delay)
        return self.app(environ, start_response)


def fake_line_app(delay: float = 0.0):
    """The fake LINE API as the benches use it (gunicorn's app factory, see FakeLineProcess)."""
    from bot.devtools.fake_line import FakeLineState, create_fake_line_app
    state = FakeLineState()
    state.accept_unregistered_reply_tokens = True      # the load client's events carry tokens it never registers
    app = create_fake_line_app(state)
    return DelayedApp(app, delay) if delay else app


class FakeLineProcess:
    """The fake LINE API in its own process, optionally slow: keeps its threads off the load
    client's GIL when the web service calls LINE hundreds of times a second. Served by gunicorn's
    threaded worker, which keeps connections open as api.line.me does (werkzeug's server closes
    each one, and a new connection per reply cost the workers a connect they do not pay in
    production)."""

    def __init__(self, delay: float = 0.0):
        self.port, self.delay = free_port(), delay
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "32", "--worker-class", "gthread",
             "--keep-alive", "60", "--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT / "bench"),
             f"_harness:fake_line_app({self.delay!r})"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _answers(self.url + "/_test/calls"), 20, what="fake LINE server")
        return self

    def __exit__(self, *exc):
        stop_process(self.process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# ---- gunicorn and workers -----------------------------------------------------------------------------

class Gunicorn:
    """`gunicorn <settings> APP` as a subprocess on a free loopback port; waits for `health`."""

    def __init__(self, app: str, env: dict, log_path: Path, health: str = "/healthz"):
        self.app, self.env, self.log_path, self.health = app, env, log_path, health
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN_SETTINGS, "--bind", f"127.0.0.1:{self.port}",
             "--chdir", str(ROOT), "--log-level", "warning", "--error-logfile", str(self.log_path), self.app],
            env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: self.process.poll() is None and _answers(self.url + self.health), 60,
                       interval=0.2, what=f"gunicorn {self.app} /healthz")
        except TimeoutError:
            stop_process(self.process, signal.SIGINT)
            raise SystemExit(f"gunicorn {self.app} did not become healthy; its log:\n" + _tail(self.log_path))
        return self

    def __exit__(self, *exc):
        stop_process(self.process, signal.SIGINT)      # SIGINT: quick shutdown, no keep-alive grace


def start_worker(env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:          # the child keeps its own copy of the file
        return subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=log)


def wait_for_workers(redis_server: RedisServer, processes: list[subprocess.Popen], log_path: Path, timeout: float = 90) -> None:
    """A worker is ready once RQ registered it; a worker that exits (e.g. ContentError) stops the run."""
    from rq import Worker
    connection = redis_server.client()

    def ready() -> bool:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker exited while starting; its log:\n" + _tail(log_path))
        return len(Worker.all(connection=connection)) >= len(processes)
    wait_until(ready, timeout, interval=0.2, what="workers registered")


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def temp_dir(prefix: str) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-")


# ---- requests and a small HTTP/1.1 load client ---------------------------------------------------------

def signed_request(body: bytes, path: str = "/callback") -> bytes:
    """The complete bytes of one POST, signed now so nothing is computed while timing."""
    from bot.web.signature import sign
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Line-Signature: {sign(body, SECRET)}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class _Connection:
    """One keep-alive connection; raw asyncio streams cost the client far less CPU than an HTTP
    library, which matters when client and server share two cores."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self) -> "_Connection":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    def close(self) -> None:
        if self.writer:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> int:
        fresh = self.writer is None
        if fresh:
            await self.open()
        try:
            return await self._roundtrip(raw)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if fresh:
                raise
            await self.open()            # the server closed an idle keep-alive connection: once more
            return await self._roundtrip(raw)

    async def _roundtrip(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        match = re.search(rb"\r\ncontent-length:\s*(\d+)", lower)
        if match:
            await self.reader.readexactly(int(match.group(1)))
        if not match or b"\r\nconnection: close" in lower:
            self.close()
        return status


async def open_loop(port: int, requests: list, rate: float, max_connections: int = 64,
                    timeout: float = 10.0) -> dict:
    """Send request i at start + i/rate whether or not earlier ones were answered (as LINE does).
    A request is its bytes, or a function returning them at send time.
    Latency counts from the scheduled time, so waiting for a free connection is included."""
    loop = asyncio.get_running_loop()
    idle: list[_Connection] = []
    slots = asyncio.Semaphore(max_connections)
    records: list[dict] = []
    start = loop.time() + 0.05

    async def one(i: int, raw) -> None:
        scheduled = start + i / rate
        if callable(raw):            # built at its send time (events whose timestamp must be fresh)
            raw = raw()
        record = {"i": i, "sent": None, "status": None, "latency": None}
        records.append(record)
        connection = None
        try:
            async with asyncio.timeout(timeout):
                async with slots:
                    connection = idle.pop() if idle else _Connection(port)
                    record["sent"] = time.time()      # wall clock, to compare with the fake LINE's times
                    record["status"] = await connection.request(raw)
            record["latency"] = loop.time() - scheduled
            idle.append(connection)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            record["status"] = type(exc).__name__
            if connection:
                connection.close()      # mid-request: its state is unknown, never reuse it

    tasks = []
    for i, raw in enumerate(requests):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, raw)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    for connection in idle:
        connection.close()
    return _summary(records, elapsed, rate=rate)


async def closed_loop(port: int, requests: list[bytes], concurrency: int, seconds: float) -> dict:
    """`concurrency` keep-alive connections, each sending its next request as soon as the last one
    is answered; counted over `seconds` once all connections are open (or until requests run out)."""
    loop = asyncio.get_running_loop()
    feed = iter(requests)
    records: list[dict] = []
    answers = [0]             # every answer, also outside the counted window (for CPU per answer)
    # Connections opened all at once tend to be accepted by one gunicorn worker (one GIL for all
    # of them); a short ramp lets a busy worker lose the next accept to an idle one.
    ramp = 0.05
    start = loop.time() + ramp * concurrency
    deadline = start + seconds

    async def client(n: int) -> None:
        await asyncio.sleep(n * ramp)
        connection = _Connection(port)
        try:
            while loop.time() < deadline and (raw := next(feed, None)) is not None:
                sent = loop.time()
                try:
                    status = await asyncio.wait_for(connection.request(raw), 10)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    connection.close()
                    status = type(exc).__name__
                done = loop.time()
                answers[0] += 1
                if start <= done <= deadline:
                    records.append({"status": status, "latency": done - sent if status == 200 else None})
        finally:
            connection.close()

    cpu_before = time.process_time()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    elapsed = min(loop.time(), deadline) - start
    summary = _summary(records, elapsed)
    summary["client_cpu_share"] = round((time.process_time() - cpu_before) / (elapsed + ramp * concurrency), 2)
    summary["ran_out_of_requests"] = next(feed, None) is None
    summary["answers_total"] = answers[0]
    return summary


def _summary(records: list[dict], elapsed: float, rate: float | None = None) -> dict:
    statuses = Counter(str(r["status"]) for r in records)
    ok = [r["latency"] for r in records if r["status"] == 200]
    summary = {"requests": len(records), "ok": len(ok), "statuses": dict(statuses), "seconds": round(elapsed, 2),
               "rps": round(len(ok) / elapsed, 1) if elapsed else None,
               "p50_ms": ms(percentile(ok, 0.5)), "p99_ms": ms(percentile(ok, 0.99)), "max_ms": ms(max(ok, default=None))}
    if rate is not None:
        summary["target_rps"] = rate
    summary["records"] = records
    return summary
