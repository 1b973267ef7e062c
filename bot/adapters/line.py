"""LineMessenger: the Messenger port over line-bot-sdk v3's MessagingApi (one HTTP call per method)."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import urllib3

from bot.adapters.line_sdk import ApiException, JsonBody, RESTResponse, api_client
from bot.ports import Profile, SendResult

if TYPE_CHECKING:
    from linebot.v3.messaging import MessagingApi

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Sends:
    """What every send to LINE's host shares: the pool, the host's path, the headers, the timeout."""
    pool: urllib3.HTTPConnectionPool
    base_path: str
    headers: dict[str, str]
    timeout: urllib3.Timeout


class LineMessenger:
    def __init__(self, host: str, access_token: str, timeout_s: float = 10.0):
        self._client = api_client(host, access_token)
        self._timeout = timeout_s

    @cached_property
    def _api(self) -> MessagingApi:
        """The SDK's typed API, for calls whose answer we read (a profile). Imported at first use:
        the class and its models are seconds of a worker's start, and sends do not need them."""
        from linebot.v3.messaging import MessagingApi
        return MessagingApi(self._client)

    def reply(self, reply_token: str, messages: list[dict]) -> SendResult:
        body = {"replyToken": reply_token, "messages": messages}
        return self._send(lambda: self._post("/v2/bot/message/reply", body))

    def push(self, to: str, messages: list[dict], retry_key: str) -> SendResult:
        return self._send(lambda: self._post("/v2/bot/message/push", {"to": to, "messages": messages},
                                             {"X-Line-Retry-Key": retry_key}))

    @cached_property
    def _sends(self) -> _Sends | None:
        """The SDK's own connection pool for LINE's host, with its TLS settings; None when the SDK
        is configured with a proxy (then sends take its whole path)."""
        configuration = self._client.configuration
        if configuration.proxy:
            return None
        url = urllib3.util.parse_url(configuration.host)
        headers = {**self._client.default_headers, "Authorization": f"Bearer {configuration.access_token}",
                   "Accept": "application/json", "Content-Type": "application/json"}
        return _Sends(self._client.rest_client.pool_manager.connection_from_url(configuration.host),
                      (url.path or "").rstrip("/"), headers, urllib3.Timeout(total=self._timeout))

    def _post(self, path: str, body: dict, headers: dict | None = None) -> int:
        """POST a body that is LINE's JSON already; returns the HTTP status, raises the SDK's
        ApiException for an answer outside 2xx, as the SDK's own call would.

        Through the SDK's connection pool, without the layers of `ApiClient.call_api` above it
        (ReplyMessageRequest/PushMessageRequest would parse every message into pydantic models,
        validate them twice and serialise them back, a third of a turn's CPU for the same
        bytes; then `call_api`, the REST client and urllib3's PoolManager cost 100 µs a send over
        the pool's own request, issue 17). The bodies are LINE's JSON already
        (bot/dialogue/messages.py); tests send them to the fake LINE server, which checks them
        against LINE's OpenAPI spec."""
        sends = self._sends
        if sends is None:
            header_params = {"Accept": "application/json", "Content-Type": "application/json", **(headers or {})}
            return self._client.call_api(
                path, "POST", {}, [], header_params, body=JsonBody(body), post_params=[], files={},
                response_types_map={}, auth_settings=["Bearer"], _return_http_data_only=False, _preload_content=True,
                _request_timeout=self._timeout, collection_formats={}).status_code
        # A TLS failure stays urllib3's SSLError, an HTTPError: retried like a timeout (the SDK
        # turns it into an ApiException without a status, which `_classify` retries too).
        response = sends.pool.urlopen(
            "POST", sends.base_path + path, body=json.dumps(body).encode(),
            headers={**sends.headers, **headers} if headers else sends.headers, timeout=sends.timeout,
            retries=False, redirect=False, assert_same_host=False, preload_content=True)
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=RESTResponse(response))
        return response.status

    def get_profile(self, user_id: str) -> Profile | None:
        try:
            profile = self._api.get_profile(user_id, _request_timeout=self._timeout)
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            log.warning("profile lookup failed: %s", _describe(exc))
            return None
        return Profile(user_id=profile.user_id, display_name=profile.display_name,
                       language=profile.language, picture_url=profile.picture_url)

    def show_loading(self, user_id: str, seconds: int) -> None:
        # LINE takes 5-60 s in steps of 5 and refuses anything else: round up into that range.
        # Sent as JSON like a reply: it can come during a worker's first turn, which must not wait
        # for the SDK's models to import (ShowLoadingAnimationRequest has these two fields).
        body = {"chatId": user_id, "loadingSeconds": max(5, min(60, -(-seconds // 5) * 5))}
        self._best_effort(lambda: self._post("/v2/bot/chat/loading/start", body))

    def mark_as_read(self, mark_as_read_token: str) -> None:
        # MarkMessagesAsReadByTokenRequest as JSON, like show_loading.
        self._best_effort(lambda: self._post("/v2/bot/chat/markAsRead", {"markAsReadToken": mark_as_read_token}))

    @staticmethod
    def _send(call: Callable[[], int]) -> SendResult:
        try:
            status = call()
        except ApiException as exc:
            return _classify(exc)
        except urllib3.exceptions.HTTPError as exc:   # timeouts, refused connections
            return SendResult("retryable", None, f"no answer from LINE: {type(exc).__name__}")
        return SendResult("sent", status)

    @staticmethod
    def _best_effort(call) -> None:
        # The loading animation and read marks are cosmetic: a failure is logged, never raised.
        try:
            call()
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            log.info("LINE cosmetic call failed: %s", _describe(exc))


def _classify(exc: ApiException) -> SendResult:
    status = exc.status or 0
    error = _line_error_text(exc)
    if status == 0:
        return SendResult("retryable", None, error)           # no answer from LINE (the SDK's TLS failure)
    if is_monthly_limit(status, error):
        return SendResult("monthly_limit", status, error)    # not a rate limit: retrying cannot help
    if status == 409:
        return SendResult("duplicate", status, error)      # same retry key already accepted: it was sent
    if status == 429 and "monthly limit" in error.lower():
        return SendResult("failed", status, error)          # the plan's quota, not a rate limit: retrying cannot help
    if status == 429 or status >= 500:
        return SendResult("retryable", status, error)
    if status == 400 and "reply token" in error.lower():
        return SendResult("invalid_token", status, error)
    return SendResult("failed", status, error)


MONTHLY_LIMIT_TEXT = "you have reached your monthly limit"


def is_monthly_limit(status: int, error: str) -> bool:
    """LINE's 429 for a spent monthly message quota, told apart from a rate limit by its message."""
    return status == 429 and MONTHLY_LIMIT_TEXT in (error or "").lower()


def _line_error_text(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return f"HTTP {exc.status}: {exc.reason}"
    details = "; ".join(d.get("message", "") for d in body.get("details", []) if isinstance(d, dict))
    message = body.get("message") or exc.reason or ""
    return f"HTTP {exc.status}: {message}" + (f" ({details})" if details else "")


def _describe(exc: Exception) -> str:
    return _line_error_text(exc) if isinstance(exc, ApiException) else type(exc).__name__
