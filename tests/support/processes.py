"""Running `python -m bot worker` as a real separate process, as production does."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET


def worker_env(settings) -> dict:
    return {**os.environ, "LINE_CHANNEL_SECRET": CHANNEL_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
            "LINE_API_HOST": settings.line_api_host, "REDIS_URL": settings.redis_url,
            "DATABASE_URL": settings.database_url, "INSTANCE_PATH": str(settings.instance_path)}


def start_worker(settings, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", "worker", *extra], env=env or worker_env(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def start_logged_worker(settings, log_dir, **env) -> subprocess.Popen:
    """A long-running worker whose log goes to a file in `log_dir` (a pipe nobody reads would
    block it); `env`: extra environment variables, e.g. WORKER_REDIS_WAIT_S=3."""
    log = open(log_dir / f"worker-{time.monotonic_ns()}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "bot", "worker"], stdout=log, stderr=subprocess.STDOUT,
                            env={**worker_env(settings), **{k: str(v) for k, v in env.items()}})


def run_burst_worker(settings, timeout: float = 120) -> None:
    process = start_worker(settings, "--burst")
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err.decode()[-3000:]


def wait_until(condition, timeout: float = 30.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False
