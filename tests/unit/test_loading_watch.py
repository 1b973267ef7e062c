"""The loading animation (bot/pipeline/loading.py): shown once for a turn that takes long, never
for a quick one, and a failing call to LINE does not stop the watch."""
from __future__ import annotations

import threading

from bot.pipeline.loading import LoadingWatch


class Shows:
    def __init__(self, fail_first: bool = False):
        self.users: list[str] = []
        self.called = threading.Event()
        self._fail_first = fail_first

    def __call__(self, user_id: str) -> None:
        self.users.append(user_id)
        self.called.set()
        if self._fail_first and len(self.users) == 1:
            raise ConnectionError("LINE did not answer")


def test_a_long_turn_shows_the_animation_once_for_its_user():
    shows = Shows()
    watch = LoadingWatch(shows, after_s=0.05, poll_s=0.01)
    with watch.watching("U-slow"):
        assert shows.called.wait(5)
        threading.Event().wait(0.1)             # the turn goes on: no second animation
    assert shows.users == ["U-slow"]


def test_quick_turns_show_nothing():
    shows = Shows()
    watch = LoadingWatch(shows, after_s=0.5, poll_s=0.01)
    for user in ("U1", "U2", "U3"):
        with watch.watching(user):
            pass
    threading.Event().wait(0.7)                 # past after_s: the ended turns are not shown late
    assert shows.users == []


def test_a_failed_animation_does_not_stop_the_watch():
    shows = Shows(fail_first=True)
    watch = LoadingWatch(shows, after_s=0.02, poll_s=0.01)
    for user in ("U-first", "U-second"):
        shows.called.clear()
        with watch.watching(user):
            assert shows.called.wait(5)
    assert shows.users == ["U-first", "U-second"]
