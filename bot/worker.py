"""The worker entry: build services once, recover waiting events, run RQ without forking."""
from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue, SimpleWorker

from bot.adapters.redis_queue import WORKER_QUEUES
from bot.logsafe import install_log_scrubbing
from bot.quota import QUOTA_JOB_ID
from bot.retention import RETENTION_JOB_ID
from bot.runtime import using_services
from bot.services import Services

log = logging.getLogger(__name__)


class BotWorker(SimpleWorker):
    """SimpleWorker runs each job in this process (no fork per job): services are built once."""

    def unsubscribe(self):
        """rq 3 stops its pubsub thread with redis-py 8's stop(), which waits, without a bound,
        for the thread to leave a wait of up to 60 s: a burst worker then took up to a minute
        to return. Bound that wait to a second (the thread is a daemon)."""
        thread = self.pubsub_thread
        if thread is None:
            return
        self.pubsub.unsubscribe()
        try:
            thread.stop(timeout=1)
        except TypeError:                # redis-py < 8: stop() takes no timeout and does not wait
            thread.stop()
        self.pubsub.close()


def run_worker(services: Services, *, burst: bool = False, name: str | None = None) -> bool:
    services.content.current()           # fail fast on broken content before taking any job
    install_log_scrubbing()
    services.tasks.ensure_scheduled(RETENTION_JOB_ID, timedelta(minutes=5), "bot.jobs.run_retention_job")
    services.tasks.ensure_scheduled(QUOTA_JOB_ID, timedelta(minutes=1), "bot.jobs.refresh_line_quota")
    recovered = services.inbox.recover()
    if recovered:
        log.info("re-scheduled waiting events of %d chats", recovered)
    queues = [Queue(queue_name, connection=services.redis) for queue_name in WORKER_QUEUES]
    worker = BotWorker(queues, connection=services.redis, name=name)
    with using_services(services):
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
