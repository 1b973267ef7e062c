"""The worker entry: build services once, recover waiting events, run RQ without forking."""
from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue, SimpleWorker

from bot.adapters.redis_queue import WORKER_QUEUES
from bot.logsafe import install_log_scrubbing
from bot.retention import RETENTION_JOB_ID
from bot.runtime import using_services
from bot.services import Services

log = logging.getLogger(__name__)


class BotWorker(SimpleWorker):
    """SimpleWorker runs each job in this process (no fork per job): services are built once."""

    PUBSUB_POLL_S = 0.5

    def subscribe(self):
        """RQ's command channel, polled every half second instead of every 60 s.

        Since redis-py 8.2, stopping the pub/sub thread waits for its poll to return, so every
        worker exit (each `--burst` run, each test turn) took 5-12 s with RQ's 60 s poll.
        """
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=self.PUBSUB_POLL_S, daemon=True, exception_handler=self._pubsub_exception_handler)


def run_worker(services: Services, *, burst: bool = False, name: str | None = None) -> bool:
    services.content.current()           # fail fast on broken content before taking any job
    install_log_scrubbing()
    services.tasks.ensure_scheduled(RETENTION_JOB_ID, timedelta(minutes=5), "bot.jobs.run_retention_job")
    recovered = services.inbox.recover()
    if recovered:
        log.info("re-scheduled waiting events of %d chats", recovered)
    queues = [Queue(queue_name, connection=services.redis) for queue_name in WORKER_QUEUES]
    worker = BotWorker(queues, connection=services.redis, name=name)
    with using_services(services):
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
