"""The worker entry: build services once, recover waiting events, run RQ without forking.

The worker outlives its dependencies' outages. While the database is down it takes no new
job (it would only fail it); when Redis drops, RQ's loop ends, and the worker waits for Redis,
then starts a fresh RQ loop (and scheduler) in the same process. It exits non-zero only when
Redis stays away longer than WORKER_REDIS_WAIT_S. SIGTERM lets the current turn finish.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import redis
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested

from bot.adapters.redis_queue import WORKER_QUEUES
from bot.pipeline.faults import DATABASE, REDIS, dependency_of
from bot.pipeline.logsafe import install_log_scrubbing
from bot.pipeline.quota import QUOTA_JOB_ID
from bot.pipeline.runtime import using_services
from bot.pipeline.sweep import Sweeper
from bot.services import Services
from bot.store.retention import RETENTION_JOB_ID

log = logging.getLogger(__name__)
WORKER_TTL_S = 30                 # RQ heartbeats (and looks at its scheduler) at least every 15 s while idle
MAINTENANCE_INTERVAL_S = 60       # RQ's registry cleaning
SCHEDULER_CHECK_S = 5             # a scheduler that died (Redis restart) is restarted this soon


class WorkerExit(Exception):
    """The worker cannot continue (Redis away too long); the command exits with status 1."""


class Heartbeat:
    """When the worker's loop last showed it is alive (the health endpoint reports its age)."""

    def __init__(self):
        self.at = time.monotonic()

    def beat(self) -> None:
        self.at = time.monotonic()

    def age_s(self) -> float:
        return time.monotonic() - self.at


class BotWorker(SimpleWorker):
    """SimpleWorker runs each job in this process (no fork per job): services are built once."""

    services: Services
    beats: Heartbeat
    _redis_down_since: float | None = None      # when the first failed heartbeat of an outage was
    # Start-up work a waiting chat need not wait for (see `dequeue_job_and_maintain_ttl`); None once done.
    after_first_take: Callable[[], None] | None = None
    _start_work_left: Callable[[], None] | None = None        # failed start-up work, retried at maintenance

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """A worker often starts because events wait (a deploy, a new instance): the first job
        queued is taken before the start-up work (periodic jobs, the reminder schedule with its
        YAML and schema, RQ's registry cleaning), which runs right after that job, or at once
        when nothing waits. Burst workers (timeout None) do it first, as before."""
        if self.after_first_take is not None and timeout is not None:
            taken = super().dequeue_job_and_maintain_ttl(None, max_idle_time)     # what waits now, no blocking
            if taken is not None:
                return taken
            self._finish_start()
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def execute_job(self, job, queue):
        super().execute_job(job, queue)
        self._finish_start()
        if self.services.watch.down():
            self._pause_until_dependencies_answer()

    def _finish_start(self) -> None:
        work, self.after_first_take = self.after_first_take, None
        if work is not None:
            self._start_work_left = work
            self.run_maintenance_tasks()

    def _retry_start_work(self) -> None:
        # A failure here (say a broken reminders.yaml) must not stop the answers: it is logged and
        # tried again at each maintenance (every MAINTENANCE_INTERVAL_S) until it passes.
        work, self._start_work_left = self._start_work_left, None
        if work is None:
            return
        try:
            work()
        except StopRequested:
            raise                         # RQ's SIGTERM between jobs: the loop must see it and end
        except Exception:
            log.exception("start-up work failed (periodic jobs, reminder sweeps); trying again at the next maintenance")
            self._start_work_left = work

    @property
    def should_run_maintenance_tasks(self):
        if self.after_first_take is not None:
            return False                  # after the first job (_finish_start)
        # RQ's scheduler process dies when Redis restarts; RQ restarts it only at its next
        # maintenance (every 10 minutes by default): retries, escalations and retention would wait.
        return super().should_run_maintenance_tasks or (
            self._scheduler_is_dead()
            and time.monotonic() - getattr(self, "_scheduler_checked", 0.0) > SCHEDULER_CHECK_S)

    def run_maintenance_tasks(self):
        self._scheduler_checked = time.monotonic()
        self._retry_start_work()
        super().run_maintenance_tasks()

    def _scheduler_is_dead(self) -> bool:
        process = self.scheduler._process if self.scheduler else None
        return self.scheduler is not None and self.last_cleaned_at is not None and not (process and process.is_alive())

    def note_outage(self, job, exc_type, exc_value, traceback) -> bool:
        """RQ calls this when any job fails (a notification, an erasure...): a database outage
        pauses the worker, so RQ's few retries are not spent while the database is away."""
        if dependency_of(exc_value) == DATABASE:
            self.services.watch.note_down(DATABASE)
        return True                       # RQ's own handling (retry later) goes on

    def _pause_until_dependencies_answer(self) -> None:
        # Taking more jobs now would only fail them: wait, keep the heartbeat, then look again
        # at every waiting chat (the jobs taken meanwhile were set back by the outage).
        if self.services.watch.wait_until_back(on_tick=self._beat_quietly):
            self.services.inbox.recover()

    def heartbeat(self, timeout=None, pipeline=None):
        self.beats.beat()
        try:
            result = super().heartbeat(timeout, pipeline)
        except (redis.ConnectionError, redis.TimeoutError):
            self._give_up_on_redis_if_gone_too_long()
            raise
        self._redis_down_since = None
        return result

    def _give_up_on_redis_if_gone_too_long(self) -> None:
        """RQ's dequeue loop retries a lost Redis forever. A short outage is left to it (the same
        worker and scheduler reconnect); after WORKER_REDIS_WAIT_S the loop is ended, and
        run_worker gives up with a non-zero exit so that a supervisor restarts the worker."""
        now = time.monotonic()
        if self._redis_down_since is None:
            self._redis_down_since = now
        elif now - self._redis_down_since > self.services.settings.worker_redis_wait_s:
            raise StopRequested()

    def _beat_quietly(self) -> None:
        self.beats.beat()
        try:
            super().heartbeat()
        except redis.RedisError:
            pass

    def subscribe(self):
        # RQ listens for commands in a thread that waits up to 60 s per poll, and redis-py joins
        # that thread on shutdown: a SIGTERM could take a minute. Poll every second instead.
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        poll_s = self.services.settings.worker_command_poll_s
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]  # RQ declares it None
            sleep_time=poll_s, daemon=True,
            exception_handler=self._pubsub_exception_handler)

    def unsubscribe(self):
        """Stops the command thread without waiting on it for long, tolerating redis-py's race.

        redis-py 8.2's stop() waits without a bound for a poll of up to `sleep_time`; and as the
        thread stops it may close the same connection that close() is closing (AttributeError
        on a connection already gone). Neither may keep a worker from exiting.
        """
        thread = self.pubsub_thread
        if thread is None:
            return
        try:
            self.pubsub.unsubscribe()
            try:
                thread.stop(timeout=1)
            except TypeError:                # redis-py < 8.2: stop() takes no timeout and does not wait
                thread.stop()
            thread.join(timeout=1)
            self.pubsub.close()
        except (AttributeError, redis.RedisError):
            pass                             # the connection is closed either way

    def request_stop(self, signum, frame):
        set_from_signal_handler(self.services.stop)      # ends backoff and outage waits at once
        super().request_stop(signum, frame)


def run_worker(services: Services, *, burst: bool = False, name: str | None = None) -> bool:
    if not burst:
        _exit_on_signals()               # nothing started yet: a SIGTERM while loading just exits
    services.content.current()           # fail fast on broken content before taking any job
    install_log_scrubbing()
    _check_persistence(services)
    if burst:
        return _one_rq_loop(services, burst=True, name=name, beats=Heartbeat())
    return _serve(services, name)


def _serve(services: Services, name: str | None) -> bool:
    """A long-running worker: health endpoint, sweep thread, and RQ loops across Redis outages."""
    beats = Heartbeat()
    _stop_on_signals(services)           # from here on a SIGTERM lets the current turn finish
    if services.settings.port:
        from bot.pipeline.worker_health import start_health_server
        start_health_server(services, beats, services.settings.port)
    Sweeper(services).start(services.stop)
    worked, round_ = False, 0
    while not services.stop.is_set():
        loop_name = name if round_ == 0 or not name else f"{name}-{round_}"
        try:
            worked = _one_rq_loop(services, burst=False, name=loop_name, beats=beats) or worked
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.error("lost Redis (%s)", type(exc).__name__)
        if services.stop.is_set():
            break
        _stop_on_signals(services)          # RQ's handlers belong to the loop that ended
        _wait_for_redis(services, beats)
        services.stop.wait(min(2 ** round_, 10))       # a loop that keeps ending must not spin
        round_ += 1
    return worked


def _exit_on_signals() -> None:
    def leave(*_):
        raise SystemExit(0)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, leave)


def _stop_on_signals(services: Services) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: set_from_signal_handler(services.stop))


def set_from_signal_handler(event: threading.Event) -> None:
    """Set `event` from a signal handler. The handler runs in the main thread, between two of its
    bytecodes: if that thread is inside `event.wait()` holding the event's lock (as it wakes up),
    `event.set()` here would wait for that lock forever — a SIGTERM during a LINE backoff once
    hung the worker. Another thread sets it as soon as the main thread lets go of the lock."""
    threading.Thread(target=event.set, name="stop-request", daemon=True).start()


def _one_rq_loop(services: Services, *, burst: bool, name: str | None, beats: Heartbeat) -> bool:
    recovered = services.inbox.recover()
    if recovered:
        log.info("re-scheduled waiting events of %d chats", recovered)
    queues = [Queue(queue_name, connection=services.redis) for queue_name in WORKER_QUEUES]
    worker = BotWorker(queues, connection=services.redis, name=name, worker_ttl=WORKER_TTL_S,
                       maintenance_interval=MAINTENANCE_INTERVAL_S)
    worker.services, worker.beats = services, beats
    worker.push_exc_handler(worker.note_outage)
    if burst:
        _schedule_housekeeping(services)
    else:
        worker.after_first_take = lambda: _schedule_housekeeping(services)
    with using_services(services):
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")


def _schedule_housekeeping(services: Services) -> None:
    """Periodic jobs, reminder sweeps and unfinished announcements: ensured at each (re)start."""
    from bot.announce.jobs import watch_announcements_soon
    from bot.reminders.jobs import ensure_reminder_sweeps
    services.tasks.ensure_scheduled(RETENTION_JOB_ID, timedelta(minutes=5), "bot.jobs.run_retention_job",
                                    periodic=True)
    services.tasks.ensure_scheduled(QUOTA_JOB_ID, timedelta(minutes=1), "bot.jobs.refresh_line_quota", periodic=True)
    ensure_reminder_sweeps(services)
    watch_announcements_soon(services)   # a send whose worker died goes on (its batches are keyed)


def _wait_for_redis(services: Services, beats: Heartbeat) -> None:
    """RQ's loop ended without a stop request: Redis went away. Wait for it, or give up."""
    services.watch.note_down(REDIS)
    deadline = time.monotonic() + services.settings.worker_redis_wait_s
    waiter = threading.Thread(target=services.watch.wait_until_back, kwargs={"on_tick": beats.beat}, daemon=True)
    waiter.start()
    while waiter.is_alive():
        waiter.join(timeout=1.0)
        beats.beat()
        if time.monotonic() > deadline:
            raise WorkerExit(f"Redis did not answer for {services.settings.worker_redis_wait_s:.0f} s")
    services.redis.connection_pool.disconnect()


def _check_persistence(services: Services) -> None:
    from bot.adapters.redis_persistence import check_redis_persistence
    check_redis_persistence(services.redis, services.settings.redis_persistence_check, "worker")
