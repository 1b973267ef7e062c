"""A drainer: one RQ job that takes ready users one after another and drains each (issue 17).

RQ costs several milliseconds of CPU and ~50 Redis commands per job, more than a bare reply; one
job per user made a broadcast burst (2,000 users with one event each) cost one job per event.
The webhook queues drainers only while fewer than the workers are alive, so under load each
worker runs one drainer that serves many users, and at a quiet moment an event still gets a
drainer of its own at once.

Between users a drainer waits up to `linger_s` for the next one (blocked on the ready set, no CPU)
instead of leaving at once: at a steady 100 events/s a worker's drainer found the ready set empty
after almost every user, and a new RQ job per event cost as much CPU as the turn itself. It
stops waiting as soon as an RQ job waits for its worker (a notification, a retry, another
drainer), so other work is held back by at most `wait_poll_s`.

What a user's drain keeps is unchanged (EventProcessor.drain: the per-user lock, order, one
transaction per event, dead letters). Around it:
- nobody came for `linger_s`: the drainer gives up its lease in the same Redis step that finds
  the ready set empty (so an event arriving then queues a new drainer) and the job ends;
- time is up (`run_for_s`) or the worker is asked to stop: the drainer hands over (its lease
  goes, a successor is queued for the users still waiting), so the worker heartbeats, runs its
  maintenance and other tasks, and no job nears RQ's timeout;
- the user's own event failed: that user alone gets a spaced retry job (as before) and the
  drainer goes on with the others;
- an outage: the database or Redis stops the drainer (the worker pauses, then recovers every
  waiting user); LINE or Translation down leaves that user to the sweep, as before, and the
  drainer goes on.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from bot.pipeline.faults import DATABASE, LINE, REDIS, TRANSLATION, dependency_of

log = logging.getLogger(__name__)
RUN_FOR_S = 20.0          # then hand over; RQ's job timeout is 180 s
LINGER_S = 1.0            # idle this long, the drainer leaves (the next event queues a new one)
WAIT_POLL_S = 0.5         # a waiting drainer looks for other RQ jobs (and a stop) this often
WAIT_FOR_READY = ""        # take_ready's answer when nobody is ready and the drainer may wait (never a user id)


class ReadyUsers(Protocol):
    """What a drainer needs of the queue (bot/adapters/redis_queue.py's RedisPartitionInbox)."""
    def new_drainer(self, job_id: str) -> str: ...
    def take_ready(self, job_id: str, owner: str, may_wait: bool = False) -> str | None:
        """The next user; WAIT_FOR_READY (lease kept) or None (lease gone) when nobody is ready."""
    def wait_for_ready(self, timeout_s: float) -> str | None:
        """Block up to `timeout_s` (> 0) for the next user to become ready, and take her."""
    def finish_drainer(self, owner: str) -> int: ...
    def retry_later(self, partition: str, delay_s: float = 2.0) -> None: ...


class Drainer:
    def __init__(self, ready: ReadyUsers, drain: Callable[[str], int], run_for_s: float = RUN_FOR_S,
                 clock: Callable[[], float] = time.monotonic, stop: threading.Event | None = None,
                 linger_s: float = LINGER_S, wait_poll_s: float = WAIT_POLL_S):
        self._ready, self._drain = ready, drain
        self._run_for_s, self._clock = run_for_s, clock
        self._linger_s, self._wait_poll_s = linger_s, wait_poll_s
        self._stop = stop or threading.Event()      # SIGTERM: finish this user's turn, take no other

    def run(self, job_id: str) -> int:
        """Drain ready users until none is left or the time is up; returns the events handled."""
        owner = self._ready.new_drainer(job_id)
        started = self._clock()
        deadline = started + self._run_for_s
        idle_since: float | None = started     # None: just drained a user, idle from the next look on
        handled, leaving = 0, True
        try:
            while not self._stop.is_set():
                now = self._clock()
                if now >= deadline:
                    break
                idle_since = now if idle_since is None else idle_since
                partition = self._ready.take_ready(job_id, owner, may_wait=now - idle_since < self._linger_s)
                if partition is None:
                    leaving = False             # the lease went with the empty ready set
                    break
                if partition == WAIT_FOR_READY:
                    partition = self._ready.wait_for_ready(min(self._wait_poll_s, self._linger_s - (now - idle_since)))
                    if partition is None:
                        continue
                handled += self._drain_one(partition)
                idle_since = None
        finally:
            if leaving:
                self._hand_over(owner)
        return handled

    def _drain_one(self, partition: str) -> int:
        try:
            return self._drain(partition)
        except Exception as exc:
            dependency = dependency_of(exc)
            if dependency in (DATABASE, REDIS):
                raise                   # the job's caller pauses the worker; recovery makes her ready again
            if dependency in (LINE, TRANSLATION):
                # Her answer stays pending with her event first in her list: the sweep tries again
                # (taking her again now would only spin while LINE is down).
                log.warning("a chat waits for %s; the drainer goes on with the others", dependency)
                return 0
            log.warning("a chat's event failed (%s); retried on its own", type(exc).__name__)
            self._ready.retry_later(partition)
            return 0

    def _hand_over(self, owner: str) -> None:
        try:
            self._ready.finish_drainer(owner)
        except Exception as exc:  # noqa: BLE001 - Redis gone: the lease lapses and recovery finds the users
            if dependency_of(exc) != REDIS:
                raise
            log.warning("drainer could not hand over (%s); its lease will lapse", type(exc).__name__)
