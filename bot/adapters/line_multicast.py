"""LineMulticaster: one message set to up to 500 users per call (line-bot-sdk v3 `MessagingApi.multicast`).

Outcomes are classified like pushes (`bot.adapters.line`): 409 on a repeated `X-Line-Retry-Key`
means LINE accepted that batch before ("duplicate", counts as sent); the monthly-limit 429 is not
a rate limit and is never retried.
"""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import urllib3

from bot.adapters.line import _classify
from bot.adapters.line_sdk import ApiException, api_client
from bot.ports import SendResult

if TYPE_CHECKING:
    from linebot.v3.messaging import MessagingApi

MAX_RECIPIENTS = 500     # LINE: `to` holds 1-500 user ids
MAX_MESSAGES = 5         # LINE: 1-5 message objects per call


class LineMulticaster:
    def __init__(self, host: str, access_token: str, timeout_s: float = 10.0):
        self._client = api_client(host, access_token)
        self._timeout = timeout_s

    @cached_property
    def _api(self) -> MessagingApi:
        from linebot.v3.messaging import MessagingApi  # at first use: seconds of import a worker's start skips
        return MessagingApi(self._client)

    def multicast(self, to: list[str], messages: list[dict], retry_key: str) -> SendResult:
        from linebot.v3.messaging import MulticastRequest
        request = MulticastRequest.from_dict({"to": to, "messages": messages})
        try:
            response = self._api.multicast_with_http_info(request, x_line_retry_key=retry_key,
                                                          _request_timeout=self._timeout)
        except ApiException as exc:
            return _classify(exc)
        except urllib3.exceptions.HTTPError as exc:     # timeouts, refused connections
            return SendResult("retryable", None, f"no answer from LINE: {type(exc).__name__}")
        return SendResult("sent", response.status_code)
