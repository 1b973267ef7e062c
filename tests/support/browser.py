"""Browser tests' servers: the web app, a worker process and fake Translation (`live`), and Chromium."""
from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot.inbox.auth import create_advisor
from tests.conftest import REPO, make_settings
from tests.support.processes import start_worker, worker_env

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"


@pytest.fixture
def live(tmp_path, redis_server, redis_client, fake_line, database_url):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from bot.app import create_app
    from bot.devtools.fake_translate import FakeTranslateServer
    from bot.services import build_services

    translate = FakeTranslateServer()
    settings = make_settings(tmp_path, redis_server.url, fake_line.url, database_url, dev_mode=True,
                             translate_backend="google", google_project="demo",
                             translate_api_endpoint=translate.url)
    services = build_services(settings)
    with services.sessions.begin() as session:
        create_advisor(session, "sato@npo.example", PASSWORD, "advisor", "佐藤")
    server = make_server("127.0.0.1", 0, create_app(settings, services), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = worker_env(settings)
    env.update(TRANSLATE_BACKEND="google", GOOGLE_CLOUD_PROJECT="demo", TRANSLATE_API_ENDPOINT=translate.url)
    worker = start_worker(settings, env=env)
    url = f"http://127.0.0.1:{server.server_port}"
    yield {"url": url, "services": services, "line": fake_line}
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:          # a busy machine: a job still finishing
        worker.kill()
        worker.wait(timeout=10)
    server.shutdown()
    translate.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield instance
        instance.close()
