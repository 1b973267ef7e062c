"""LINE's loading animation for a turn that takes long (a slow translation, a busy database)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

log = logging.getLogger(__name__)
POLL_S = 0.2        # the animation starts between after_s and after_s + POLL_S into a turn


class LoadingWatch:
    """Shows LINE's loading animation when a turn takes longer than `after_s`.

    One thread per process, started on first use, looks every POLL_S at the turn in progress (a
    worker runs one turn at a time). Starting and ending a turn only set one attribute: a timer
    thread per message cost a thread start each, and waking the watcher at every turn (a
    condition's notify) cost it a wake-up and a hand-over of the GIL, ~0.2 ms of a worker's turn.
    """

    def __init__(self, show: Callable[[str], None], after_s: float, poll_s: float = POLL_S):
        self._show, self._after_s, self._poll_s = show, after_s, poll_s
        self._turn: tuple[str, float] | None = None      # (user, when to show) of the turn in progress
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, user_id: str):
        if self._thread is None:
            self._start()
        turn = (user_id, time.monotonic() + self._after_s)
        self._turn = turn          # one assignment: atomic, the watcher reads it without a lock
        try:
            yield
        finally:
            self._turn = None

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loading-indicator", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        shown: tuple[str, float] | None = None
        while True:
            time.sleep(self._poll_s)
            turn = self._turn
            if turn is None or turn is shown or turn[1] > time.monotonic():
                continue
            shown = turn               # once per turn
            try:
                self._show(turn[0])
            except Exception:  # noqa: BLE001 - cosmetic; the watch must keep running
                log.exception("loading indicator failed")
