"""The bot without Redis or LINE: for `python -m bot chat` and `eval-faq`.

Runs the same handlers, conversation and content as the worker, on an in-memory database,
and records what would be sent instead of calling LINE.
"""
from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from bot.adapters.clock import ZoneClock, system_now
from bot.content.registry import ContentRegistry
from bot.dialogue.turn import TurnContext
from bot.domain import DomainExtras, make_domain_services
from bot.pipeline.processing import EventProcessor
from bot.ports import Profile, SendResult
from bot.settings import Settings
from bot.store.database import make_session_factory
from bot.store.models import Base


class RecordingMessenger:
    """The Messenger port for offline runs: nothing leaves the machine."""

    def __init__(self):
        self.sent: list[list[dict]] = []

    def reply(self, reply_token, messages):
        self.sent.append(messages)
        return SendResult("sent", 200)

    def push(self, to, messages, retry_key):
        self.sent.append(messages)
        return SendResult("sent", 200)

    def get_profile(self, user_id):
        return Profile(user_id=user_id, display_name="Offline tester")

    def show_loading(self, user_id, seconds):
        pass

    def mark_as_read(self, token):
        pass


class OfflineBot:
    def __init__(self, settings: Settings, now: Callable[[], datetime] = system_now):
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        Base.metadata.create_all(engine)
        self.settings = settings
        self.sessions = make_session_factory(engine)
        self.content = ContentRegistry(settings.locales_dir, settings.flows_dir, settings.resources_dir)
        from bot.dialogue.classifier import load_classifier
        self.extras = DomainExtras(classifier=load_classifier(settings.classifier_path))
        self.messenger = RecordingMessenger()
        self.clock = ZoneClock(settings.time_zone, now)
        self.now = self.clock.now
        self._ids = itertools.count(1)
        self._processor = EventProcessor(None, self.sessions, None, self._context)

    def _context(self, event, user, session) -> TurnContext:
        content = self.content.current()
        return TurnContext(event=event, user=user, catalog=content.catalog, messenger=self.messenger,
                           default_locale=self.settings.default_locale, now=self.now,
                           services=make_domain_services(self.settings, session, content, self.clock,
                                                         extra=self.extras, user=user))

    def _event(self, user_id: str, **fields) -> dict:
        return {"mode": "active", "timestamp": int(self.now().timestamp() * 1000), "replyToken": uuid.uuid4().hex,
                "source": {"type": "user", "userId": user_id}, "webhookEventId": f"offline-{next(self._ids)}",
                "deliveryContext": {"isRedelivery": False}, **fields}

    def run(self, event: dict) -> list[dict]:
        return self._processor.run_turn(event)

    def choose_language(self, user_id: str, locale: str) -> list[dict]:
        return self.run(self._event(user_id, type="postback", postback={"data": f"lang:{locale}"}))

    def say(self, user_id: str, text: str) -> list[dict]:
        message = {"id": str(next(self._ids)), "type": "text", "text": text}
        return self.run(self._event(user_id, type="message", message=message))

    def tap(self, user_id: str, data: str, params: dict | None = None) -> list[dict]:
        postback = {"data": data, **({"params": params} if params else {})}
        return self.run(self._event(user_id, type="postback", postback=postback))
