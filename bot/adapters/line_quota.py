"""LineQuotaReader: this month's message quota and usage, read with line-bot-sdk v3's MessagingApi."""
from __future__ import annotations

import urllib3
from linebot.v3.messaging import ApiClient, ApiException, Configuration, MessagingApi

from bot.pipeline.quota import QuotaReading, QuotaUnavailableError


class LineQuotaReader:
    def __init__(self, host: str, access_token: str, timeout_s: float = 10.0):
        configuration = Configuration(host=host, access_token=access_token)
        configuration.retries = False
        self._api = MessagingApi(ApiClient(configuration))
        self._timeout = timeout_s

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
