"""`python -m bot dev`: the whole stack on one machine, with embedded defaults.

Starts a private redis-server (append-only file under instance/dev-redis) on a free port, the
fake LINE server, the web app with the simulator, and one worker process; stops all on Ctrl-C.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from bot.pipeline.worker import set_from_signal_handler
from bot.settings import PROJECT_ROOT, load_settings

log = logging.getLogger("bot.dev")
DEV_SECRET = "dev-channel-secret"
DEV_TOKEN = "dev-access-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(instance: Path) -> tuple[str, subprocess.Popen | None, object | None]:
    binary = shutil.which("redis-server")
    if binary:
        port = _free_port()
        data = instance / "dev-redis"
        data.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                                    "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
        _wait_for_port(port)
        return f"redis://127.0.0.1:{port}/0", process, None
    try:
        from fakeredis import TcpFakeServer
    except ImportError:
        raise SystemExit("redis-server is not installed and no stand-in is available.\n"
                         "Install it (`sudo apt-get install redis-server`) or `pip install fakeredis`.") from None
    port = _free_port()
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.warning("!!! redis-server not found: using an in-process Redis stand-in. NOTHING QUEUED IS DURABLE. !!!")
    return f"redis://127.0.0.1:{port}/0", None, server


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"a service did not start on port {port}")


class QuietPollingHandler(WSGIRequestHandler):
    """Access lines, except the simulator's and the fake LINE's polling (one every 700 ms per open
    tab), which buried the lines an admin needs, such as "content edit rejected"."""
    QUIET_PATHS = ("/simulator/api/messages", "/_test/messages")

    def log_request(self, code="-", size="-"):
        if str(code) == "200" and self.path.split("?", 1)[0] in self.QUIET_PATHS:
            return
        super().log_request(code, size)


def _serve(app, port: int):
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietPollingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


DEV_ADMIN = ("admin@example.org", "dev-password-only")


def _ensure_dev_admin(settings) -> str:
    """A local admin account so the inbox can be tried at once (dev mode and its own database only)."""
    from bot.inbox.auth import AccountError, create_advisor
    from bot.store.database import make_engine, make_session_factory
    sessions = make_session_factory(make_engine(settings.database_url))
    try:
        with sessions.begin() as session:
            create_advisor(session, DEV_ADMIN[0], DEV_ADMIN[1], "admin", "相談員(開発)")
    except AccountError:
        pass                                      # created on an earlier run
    return f"admin account: {DEV_ADMIN[0]} / {DEV_ADMIN[1]}"


def run_dev(port: int = 8000) -> int:
    from bot.app import create_app
    from bot.devtools.fake_line import create_fake_line_app
    from bot.devtools.fake_translate import create_fake_translate_app
    from bot.store.database import upgrade_database

    instance = PROJECT_ROOT / "instance"
    redis_url, redis_process, _stand_in = _start_redis(instance)
    line_port = _free_port()
    _serve(create_fake_line_app(), line_port)
    translate_port = _free_port()
    _serve(create_fake_translate_app(), translate_port)
    env = {
        **os.environ,
        "LINE_CHANNEL_SECRET": os.environ.get("LINE_CHANNEL_SECRET", DEV_SECRET),
        "LINE_CHANNEL_ACCESS_TOKEN": os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", DEV_TOKEN),
        "LINE_API_HOST": f"http://127.0.0.1:{line_port}", "REDIS_URL": redis_url,
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'dev.sqlite3'}"),
        "BOT_DEV_MODE": "1", "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-secret-key"),
        # Machine translation goes to a local fake that marks its output ([vi] ...): no Google account needed.
        "TRANSLATE_BACKEND": os.environ.get("TRANSLATE_BACKEND", "google"),
        "GOOGLE_CLOUD_PROJECT": os.environ.get("GOOGLE_CLOUD_PROJECT", "dev-project"),
        "TRANSLATE_API_ENDPOINT": os.environ.get("TRANSLATE_API_ENDPOINT", f"http://127.0.0.1:{translate_port}"),
    }
    settings = load_settings(env)
    upgrade_database(settings.database_url)
    login_line = _ensure_dev_admin(settings)
    worker = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env)
    # The rich menus, drawn and sent to the fake LINE server, so the simulator shows them (~10 s).
    subprocess.Popen([sys.executable, "-m", "bot", "richmenu", "deploy"], env=env, stdout=subprocess.DEVNULL)
    web = _serve(create_app(settings), port)
    print(f"\n  Simulator:  http://127.0.0.1:{port}/simulator/\n"
          f"  Inbox:      http://127.0.0.1:{port}/inbox/  ({login_line})\n"
          f"  Fake LINE:  http://127.0.0.1:{line_port}/_test/messages\n  Ctrl-C stops everything.\n", flush=True)
    stop = threading.Event()
    # Set from another thread: Event.set() inside the handler can wait forever for the lock that
    # the interrupted stop.wait() holds (see bot.pipeline.worker.set_from_signal_handler).
    signal.signal(signal.SIGTERM, lambda *_: set_from_signal_handler(stop))
    try:
        while not stop.is_set() and worker.poll() is None:
            stop.wait(0.5)
        if worker.poll() is not None:
            log.error("the worker stopped (exit %s); see its log above", worker.returncode)
    except KeyboardInterrupt:
        pass
    finally:
        web.shutdown()
        for process in (worker, redis_process):
            if process and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
    return 0
