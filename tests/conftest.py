"""Shared fixtures: a private redis-server, the fake LINE server, a migrated database per test.

Session-scoped servers are per process: under pytest-xdist every worker starts its own on free
ports, and gets its own PostgreSQL database (tests/support/databases.py).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Helpers' asserts (the bot driver's, the inbox helpers') report their values like a test's do;
# this must come before anything imports them.
pytest.register_assert_rewrite("tests.support")

from bot.content.cache import ENV as CONTENT_CACHE_ENV  # noqa: E402 - after the rewrite hook above
from bot.content.cache import ContentCache  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.store.database import upgrade_database  # noqa: E402
from tests.support.bot_driver import BotDriver  # noqa: E402
from tests.support.databases import create_database, drop_database, worker_database_url  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.shared_compile import LOCK_NAME as SHARED_CONTENT_LOCK  # noqa: E402
from tests.support.shared_compile import READY, one_process_at_a_time  # noqa: E402

CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"
REPO = Path(__file__).resolve().parents[1]
PAYLOADS = REPO / "tests" / "payloads"      # the project's own sample webhook bodies
# Fixtures shared by several folders: advisor and client (inbox), live and browser (Playwright),
# postgres_sessions (a private migrated PostgreSQL database), content_copy (a copy of the content to edit).
pytest_plugins = ["tests.support.inbox", "tests.support.browser", "tests.support.databases",
                  "tests.support.content_copy"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server):
    client = redis_server.client()
    client.flushall()
    return client


@pytest.fixture(scope="session")
def fake_line_server():
    from bot.devtools.fake_line import FakeLineServer
    with FakeLineServer() as server:
        yield server


@pytest.fixture
def fake_line(fake_line_server):
    fake_line_server.state.reset()
    return fake_line_server


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db-template") / "template.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(tmp_path, migrated_sqlite) -> str:
    path = tmp_path / "bot.sqlite3"
    shutil.copy(migrated_sqlite, path)
    return f"sqlite:///{path}"


def make_settings(tmp_path: Path, redis_url: str, line_url: str, database_url: str, **overrides):
    env = {
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_HOST": line_url, "REDIS_URL": redis_url, "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret-key",
    }
    # worker_command_poll_s: every `bot.work()` starts and stops a burst worker, whose stop waits
    # for the command thread's poll in progress (1 s in production). drainer_linger_s: a drainer
    # would wait 1 s for the next user after each message (tests/adapters/test_drainers.py covers it).
    defaults = dict(line_backoff_base_s=0.01, loading_indicator_after_s=30.0, line_timeout_s=3.0,
                    worker_command_poll_s=0.02, drainer_linger_s=0.0)
    defaults.update(overrides)
    return load_settings(env, **defaults)


@pytest.fixture
def settings(tmp_path, redis_server, fake_line, database_url):
    return make_settings(tmp_path, redis_server.url, fake_line.url, database_url)


@pytest.fixture(scope="session")
def shared_content():
    """The shipped content, for the tests that do not edit it. Compiling it costs seconds of CPU,
    so it is compiled once per run: under xdist the main process starts that compile before the
    other processes exist (`pytest_configure`); otherwise the first process to get here compiles
    it. Either holds a file lock in the run's content cache (BOT_CONTENT_CACHE_DIR) while it
    compiles; the others wait on it, then load the compiled set from there in a tenth of a second
    (bot/content/cache.py; that the cached set answers as the compiled one is
    tests/unit/test_content_cache.py's business)."""
    from bot.content.registry import ContentRegistry
    from bot.settings import PROJECT_ROOT
    registry = ContentRegistry(PROJECT_ROOT / "locales", PROJECT_ROOT / "flows", PROJECT_ROOT / "resources")
    with one_process_at_a_time(SHARED_CONTENT_LOCK):
        registry.current()
    return registry


@pytest.fixture(scope="session")
def shipped_index(shared_content):
    """The shipped resource index, for the tests that only search it (the shared content's)."""
    return shared_content.current().index


@pytest.fixture(scope="session")
def shipped_triage_rules(shared_content):
    """The shipped triage rules, for the tests that only apply them (the shared content's)."""
    return shared_content.current().triage_rules


@pytest.fixture
def services(settings, redis_client, shared_content):
    from bot.services import build_services
    services = build_services(settings, redis_client, content=shared_content)
    yield services
    services.engine.dispose()


@pytest.fixture(scope="session")
def built_apps() -> dict:
    """Flask apps built in this process, by what create_app reads from the settings."""
    return {}


@pytest.fixture
def app(services, built_apps):
    """The web app on this test's services. Building one compiles its ~370 URL rules (about
    80 ms of CPU), so an app is built once per process for each kind of settings it depends on and
    handed each test's services: every view finds them in `app.extensions["bot.services"]`.
    What a test sets on the app (config, extensions) is put back after it."""
    from bot.app import create_app
    s = services.settings
    key = (s.dev_mode, s.secret_key, s.trusted_proxy_hops, s.redis_persistence_check)
    if key not in built_apps:
        built_apps[key] = create_app(services=services)
    app = built_apps[key]
    config, extensions = dict(app.config), dict(app.extensions)
    app.extensions["bot.services"] = services
    yield app
    app.config.clear()
    app.config.update(config)
    app.extensions.clear()
    app.extensions.update(extensions)


@pytest.fixture
def bot(app, services, fake_line):
    return BotDriver(app.test_client(), services, fake_line, CHANNEL_SECRET)


def pytest_configure(config):
    """Under xdist, each worker points TEST_DATABASE_URL at its own `<db>_<worker id>`.

    The run gets its own compiled-content cache folder (unless BOT_CONTENT_CACHE_DIR is set),
    made here in the main process before xdist starts the others, which inherit it, as do the
    `python -m bot worker` processes the fault tests start: the shipped content is compiled once
    per run, and the tests neither read the user's cache (~/.cache, shared with every checkout)
    nor evict the sets other checkouts keep there."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        os.environ["TEST_DATABASE_URL"] = worker_database_url(base, os.environ.get("PYTEST_XDIST_WORKER"))
    if not os.environ.get("PYTEST_XDIST_WORKER") and not os.environ.get(CONTENT_CACHE_ENV):
        folder = tempfile.mkdtemp(prefix="bot-tests-content-")          # mode 700, as the cache requires
        os.environ[CONTENT_CACHE_ENV] = folder
        config.stash[_RUN_CONTENT_CACHE] = folder
    if not os.environ.get("PYTEST_XDIST_WORKER") and getattr(config.option, "numprocesses", None) \
            and ContentCache.from_env().enabled:
        config.stash[_SHARED_COMPILE] = _start_shared_compile()


def _start_shared_compile() -> subprocess.Popen:
    """Compile the shipped content in a process of its own while xdist starts its processes and
    they import and collect (seconds of CPU each): the first test that needs `shared_content`
    then waits only for what is left of it instead of the whole compile. Returns once that
    process holds the lock, so no xdist process can take it first and compile a second time."""
    compiling = subprocess.Popen([sys.executable, "-m", "tests.support.shared_compile"], cwd=REPO,
                                 stdout=subprocess.PIPE, text=True)
    assert compiling.stdout is not None
    said = compiling.stdout.readline().strip()
    assert said == READY, f"the shared content compile did not start: {said!r}"
    return compiling


def pytest_unconfigure(config):
    compiling = config.stash.get(_SHARED_COMPILE, None)
    if compiling is not None:
        compiling.wait()           # a failed compile shows in the tests: shared_content compiles again
    folder = config.stash.get(_RUN_CONTENT_CACHE, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(CONTENT_CACHE_ENV, None)


_RUN_CONTENT_CACHE = pytest.StashKey[str]()
_SHARED_COMPILE = pytest.StashKey[subprocess.Popen]()


@pytest.fixture(scope="session")
def postgres_database():
    """This worker's PostgreSQL database, created for the session (every `postgres` test uses it)."""
    url = os.environ["TEST_DATABASE_URL"]
    create_database(url)
    yield url
    if os.environ.get("PYTEST_XDIST_WORKER"):
        drop_database(url)


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("TEST_DATABASE_URL"):
        skip = pytest.mark.skip(reason="TEST_DATABASE_URL is not set (no PostgreSQL for this run)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)
    else:
        for item in items:
            if "postgres" in item.keywords:
                item.fixturenames.insert(0, "postgres_database")
    # Slow tests first: in parallel runs a long test that starts last would set the wall time alone.
    items.sort(key=lambda item: "slow" not in item.keywords)
