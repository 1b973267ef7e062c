"""The bare baseline for bench/end_to_end.py: the same queue, RQ worker and LINE client, no bot.

    python bench/bare_worker.py        (started by end_to_end.py --bare, with the bot's environment)

An RQ SimpleWorker on the bot's queues whose drain job pops the user's waiting events and
answers each with one "ok" by reply token through the same LineMessenger (line-bot-sdk v3):
no lock, no database, no content, no delivery bookkeeping. Its drainer job takes ready users
through the same Drainer and scripts as the bot's (bot/pipeline/drainers.py). What the real
worker costs above this is the bot's own turn.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rq import Queue, SimpleWorker, get_current_job  # noqa: E402

import bot.jobs  # noqa: E402
from bot.adapters.line import LineMessenger  # noqa: E402
from bot.adapters.redis_queue import WORKER_QUEUES, RedisPartitionInbox, _events_key  # noqa: E402
from bot.pipeline.drainers import Drainer  # noqa: E402

connection = redis.Redis.from_url(os.environ["REDIS_URL"])
messenger = LineMessenger(os.environ["LINE_API_HOST"], os.environ["LINE_CHANNEL_ACCESS_TOKEN"])


def bare_drain(partition: str) -> int:
    handled = 0
    while (raw := connection.lpop(_events_key(partition))) is not None:
        event = json.loads(raw)
        if event.get("replyToken"):
            messenger.reply(event["replyToken"], [{"type": "text", "text": "ok"}])
        handled += 1
    return handled


def bare_drain_ready() -> int:
    job = get_current_job()
    return Drainer(inbox, bare_drain).run(job.id if job else "no-job")


inbox = RedisPartitionInbox(connection)

if __name__ == "__main__":
    bot.jobs.drain_partition = bare_drain      # RQ finds the job function by this name at run time
    bot.jobs.drain_ready = bare_drain_ready
    queues = [Queue(name, connection=connection) for name in WORKER_QUEUES]
    SimpleWorker(queues, connection=connection).work(logging_level="WARNING")
