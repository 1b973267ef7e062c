"""LineQuotaReader: this month's message quota and usage, read with line-bot-sdk v3's MessagingApi."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import urllib3

from bot.adapters.line_sdk import ApiException, api_client
from bot.pipeline.quota import QuotaReading, QuotaUnavailableError

if TYPE_CHECKING:
    from linebot.v3.messaging import MessagingApi


class LineQuotaReader:
    def __init__(self, host: str, access_token: str, timeout_s: float = 10.0):
        self._client = api_client(host, access_token)
        self._timeout = timeout_s

    @cached_property
    def _api(self) -> MessagingApi:
        from linebot.v3.messaging import MessagingApi  # at first use: seconds of import a worker's start skips
        return MessagingApi(self._client)

    def read(self) -> QuotaReading:
        """GET /v2/bot/message/quota and /quota/consumption; `limit` is None on an unlimited plan."""
        try:
            quota = self._api.get_message_quota(_request_timeout=self._timeout)
            usage = self._api.get_message_quota_consumption(_request_timeout=self._timeout)
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            raise QuotaUnavailableError(f"LINE quota lookup failed: {type(exc).__name__}") from exc
        limited = getattr(quota.type, "value", quota.type) == "limited"
        return QuotaReading(limit=int(quota.value) if limited and quota.value is not None else None,
                            used=int(usage.total_usage))
