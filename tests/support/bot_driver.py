"""Drive the whole bot in a test: POST signed events to /callback, run the worker, read fake LINE."""
from __future__ import annotations

from rq import Queue
from rq.scheduler import RQScheduler

from bot.adapters.redis_queue import WORKER_QUEUES
from bot.pipeline.logsafe import install_log_scrubbing
from bot.pipeline.runtime import using_services
from bot.pipeline.worker import BotWorker, Heartbeat, run_worker
from tests.support.line_events import body_of, follow_event, postback_event, signed_headers, text_event


class BotDriver:
    def __init__(self, client, services, fake_line, secret: str):
        self.client = client
        self.services = services
        self.line = fake_line
        self.secret = secret
        self._in_process: InProcessWorker | None = None

    def post(self, *events: dict):
        for event in events:
            if event.get("replyToken") and event.get("source", {}).get("userId"):
                self.line.register_reply_token(event["replyToken"], event["source"]["userId"])
        body = body_of(*events)
        return self.client.post("/callback", data=body, headers=signed_headers(body, self.secret))

    def work(self) -> None:
        """A real burst RQ worker (`python -m bot worker --burst` in this process): its start
        schedules the periodic jobs and recovers waiting chats, as a worker start does."""
        run_worker(self.services, burst=True)

    def drain(self) -> int:
        """Run the queued jobs now, in this process (see InProcessWorker); returns how many."""
        if self._in_process is None:
            self._in_process = InProcessWorker(self.services)
        return self._in_process.drain()

    def send(self, *events: dict) -> None:
        response = self.post(*events)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.drain()

    def say(self, user_id: str, text: str) -> list[str]:
        """Send a text as the user; return the texts the bot sent back for it."""
        before = len(self.line.texts_to(user_id))
        self.send(text_event(user_id, text))
        return self.line.texts_to(user_id)[before:]

    def tap(self, user_id: str, data: str) -> list[str]:
        before = len(self.line.texts_to(user_id))
        self.send(postback_event(user_id, data))
        return self.line.texts_to(user_id)[before:]

    def follow(self, user_id: str, language: str | None = None, name: str = "Test parent",
               agree: bool = True) -> list[str]:
        """Add the bot as a friend; `agree` also accepts the privacy notice, as most parents do."""
        self.line.set_profile(user_id, name, language)
        before = len(self.line.texts_to(user_id))
        self.send(follow_event(user_id))
        greeting = self.line.texts_to(user_id)[before:]
        if agree:
            self.send(postback_event(user_id, "privacy:agree"))
        return greeting

    def last_messages(self, user_id: str) -> list[dict]:
        received = self.line.messages_to(user_id)
        return received[-1]["messages"] if received else []


class InProcessWorker:
    """The worker's job loop without the worker's start and stop, for conversation tests.

    A burst worker (`work()`) registers itself, starts a command thread and a scheduler, runs its
    start-up tasks and stops them all again: about 40 ms of CPU per turn before any job runs. This
    runs the same jobs through the same BotWorker and RQ code (`execute_job`: the job's status
    and registries, retries, the outage handler, the pause while the database is down) and, like
    a burst worker's scheduler, first moves the scheduled jobs that are due onto their queues.
    Tests of what a worker start does call `work()` or a real `python -m bot worker`.
    """

    def __init__(self, services):
        install_log_scrubbing()
        self.services = services
        self.queues = [Queue(name, connection=services.redis) for name in WORKER_QUEUES]
        self.worker = BotWorker(self.queues, connection=services.redis)
        self.worker.services, self.worker.beats = services, Heartbeat()
        self.worker.push_exc_handler(self.worker.note_outage)

    def drain(self) -> int:
        self._enqueue_due_scheduled_jobs()
        done = 0
        with using_services(self.services):
            while (taken := Queue.dequeue_any(self.queues, None, connection=self.services.redis)) is not None:
                job, queue = taken
                self.worker.execute_job(job, queue)
                done += 1
        return done

    def _enqueue_due_scheduled_jobs(self) -> None:
        scheduler = RQScheduler(self.queues, connection=self.services.redis, logging_level="WARNING")
        scheduler.acquire_locks()
        try:
            if scheduler.acquired_locks:
                scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()
