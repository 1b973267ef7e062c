"""The run's one compile of the shipped content, started before xdist starts its processes.

`python -m tests.support.shared_compile` (run by tests/conftest.py's `pytest_configure` in the
main process) takes the same file lock as the `shared_content` fixture, says "locked" on stdout,
then compiles the shipped content into the run's cache (BOT_CONTENT_CACHE_DIR) and exits, which
releases the lock. The xdist processes import, collect and start their servers meanwhile; the
first of their tests that needs the shared content waits on the lock only for what is left of
the compile, then loads the compiled set from the cache.
"""
from __future__ import annotations

import fcntl
import os
import sys
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "shared-content"
READY = "locked"


@contextmanager
def one_process_at_a_time(name: str):
    """An exclusive lock shared by this run's processes (a file lock in the run's cache folder)."""
    from bot.content.cache import ENV
    folder = os.environ.get(ENV, "")
    if not os.path.isdir(folder):
        import tempfile
        folder = tempfile.gettempdir()
    with open(os.path.join(folder, f".{name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shipped_registry():
    from bot.content.registry import ContentRegistry
    from bot.settings import PROJECT_ROOT
    return ContentRegistry(PROJECT_ROOT / "locales", PROJECT_ROOT / "flows", PROJECT_ROOT / "resources",
                           background=False)


def main() -> int:
    with one_process_at_a_time(LOCK_NAME):
        print(READY, flush=True)
        from bot.content.registry import ContentError  # after the lock: xdist waits for READY
        try:
            shipped_registry().current()               # compiles and saves it in the run's cache
        except ContentError:
            return 1                  # the tests that need the content compile it again and show the problems
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
