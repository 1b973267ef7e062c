"""Drive the whole bot in a test: POST signed events to /callback, run the worker, read fake LINE."""
from __future__ import annotations

from bot.pipeline.worker import run_worker
from tests.support.line_events import body_of, follow_event, postback_event, signed_headers, text_event


class BotDriver:
    def __init__(self, client, services, fake_line, secret: str):
        self.client = client
        self.services = services
        self.line = fake_line
        self.secret = secret

    def post(self, *events: dict):
        for event in events:
            if event.get("replyToken") and event.get("source", {}).get("userId"):
                self.line.register_reply_token(event["replyToken"], event["source"]["userId"])
        body = body_of(*events)
        return self.client.post("/callback", data=body, headers=signed_headers(body, self.secret))

    def work(self) -> None:
        run_worker(self.services, burst=True)

    def send(self, *events: dict) -> None:
        response = self.post(*events)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.work()

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
