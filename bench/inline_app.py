"""The conventional design, for comparison: answer LINE inside the webhook request.

Like line-bot-sdk's flask-echo example: verify the signature, parse the events, and call
MessagingApi.reply_message for each text message before answering 200. So the webhook's
latency includes a round trip to LINE, and a slow LINE holds a gunicorn thread per event.
Reads LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN and LINE_API_HOST (the fake LINE server).
"""
from __future__ import annotations

import os

from flask import Flask, abort, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, ReplyMessageRequest, TextMessage
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import MessageEvent, TextMessageContent


def create_app() -> Flask:
    app = Flask(__name__)
    parser = WebhookParser(os.environ["LINE_CHANNEL_SECRET"])
    configuration = Configuration(host=os.environ["LINE_API_HOST"], access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"])
    # One client per process, shared by the threads (urllib3's pool is thread-safe): kinder to this
    # design than the example's client per request, so the comparison does not flatter ours.
    api = MessagingApi(ApiClient(configuration))

    @app.post("/callback")
    def callback():
        body = request.get_data(as_text=True)
        try:
            events = parser.parse(body, request.headers.get("X-Line-Signature", ""))
        except InvalidSignatureError:
            abort(400)
        for event in events:
            if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
                api.reply_message(ReplyMessageRequest(reply_token=event.reply_token,
                                                      messages=[TextMessage(text=event.message.text)]))
        return "OK", 200

    @app.get("/healthz")
    def healthz():
        return "OK", 200

    return app
