"""Japanese for users' messages in the inbox: made by a background job, never in a web request.

A web request that waited for the Translation API would hold a thread shared with `/callback`
(and, on SQLite, the write lock) for as long as the API hangs. So a case page only asks for the
missing translations (`request`), shows the originals marked 翻訳中…, and its script polls
`states` until the job (`bot.jobs.translate_inbound_messages`) has filled each one in or given up.
Small markers in Redis say which messages wait (so page views and polls do not enqueue the same
work again) and which failed (the page then offers "retry").
"""
from __future__ import annotations

import logging

import redis
from sqlalchemy import select

from bot.ports import TaskQueue, Translator
from bot.store.models import Message

log = logging.getLogger(__name__)

NO_TRANSLATION_LOCALES = {"ja", "ja-easy"}      # advisors read these as they are
JOB = "bot.jobs.translate_inbound_messages"
PENDING_TTL_S = 10 * 60      # a job lost with a dead worker is asked for again after this
FAILED_TTL_S = 60 * 60       # after this a page view tries a failed translation again by itself


def needs_translation(message: Message, locale: str) -> bool:
    return (message.direction == "in" and message.kind == "text" and bool(message.text)
            and not message.translation and locale not in NO_TRANSLATION_LOCALES)


def _pending_key(message_id: int) -> str:
    return f"bot:inbox-tr:pending:{message_id}"


def _failed_key(message_id: int) -> str:
    return f"bot:inbox-tr:failed:{message_id}"


class InboundTranslations:
    def __init__(self, connection: redis.Redis, tasks: TaskQueue):
        self._redis = connection
        self._tasks = tasks

    def request(self, message_ids: list[int], locale: str, retry_failed: bool = False) -> list[int]:
        """Enqueue one job for the messages not already waiting (nor failed, unless retrying)."""
        if not message_ids:
            return []
        if retry_failed:
            self._redis.delete(*[_failed_key(message_id) for message_id in message_ids])
        states = self.states(message_ids)
        candidates = [message_id for message_id in message_ids if states[message_id] != "failed"]
        pipe = self._redis.pipeline()
        for message_id in candidates:
            pipe.set(_pending_key(message_id), 1, nx=True, ex=PENDING_TTL_S)
        wanted = [message_id for message_id, added in zip(candidates, pipe.execute()) if added]
        if wanted:
            self._tasks.enqueue(JOB, wanted, locale)
        return wanted

    def states(self, message_ids: list[int]) -> dict[int, str]:
        """'failed' or 'pending' for each message id (the caller knows which are done)."""
        if not message_ids:
            return {}
        pipe = self._redis.pipeline()
        for message_id in message_ids:
            pipe.exists(_failed_key(message_id))
        failed = pipe.execute()
        return {mid: "failed" if is_failed else "pending" for mid, is_failed in zip(message_ids, failed)}

    def finished(self, message_id: int, ok: bool) -> None:
        pipe = self._redis.pipeline()
        pipe.delete(_pending_key(message_id))
        if ok:
            pipe.delete(_failed_key(message_id))
        else:
            pipe.set(_failed_key(message_id), 1, ex=FAILED_TTL_S)
        pipe.execute()


def translate_inbound(sessions, translator: Translator, markers: InboundTranslations, message_ids: list[int],
                      locale: str) -> int:
    """The job's work: translate each message to Japanese and store it; returns how many were done.

    The call to the Translation API happens outside any database transaction. At the first
    failure the rest are marked failed too: a service that is down must cost the worker one
    timeout per job, not one per message.
    """
    with sessions() as session:
        rows = session.scalars(select(Message).where(Message.id.in_(message_ids)).order_by(Message.id)).all()
        todo = [(m.id, m.text) for m in rows if needs_translation(m, locale)]
    done_ids = set(message_ids) - {mid for mid, _ in todo}
    for mid in done_ids:                       # deleted meanwhile, or already translated
        markers.finished(mid, ok=True)
    translated = 0
    for position, (message_id, text) in enumerate(todo):
        result = translator.translate(text, target="ja", source=locale)
        if not result.translated:
            log.warning("inbox translation failed (%s); %d message(s) marked for retry", result.error,
                        len(todo) - position)
            for failed_id, _ in todo[position:]:
                markers.finished(failed_id, ok=False)
            break
        with sessions.begin() as session:
            message = session.get(Message, message_id)
            if message is not None and not message.translation:
                message.translation = result.text
        markers.finished(message_id, ok=True)
        translated += 1
    return translated
