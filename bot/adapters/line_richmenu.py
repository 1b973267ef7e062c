"""LineRichMenus: rich menu calls over line-bot-sdk v3 (MessagingApi; images via MessagingApiBlob on
LINE's data host). Errors become RichMenuApiError, which says whether a retry may help."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import urllib3

from bot.adapters.line import _line_error_text
from bot.adapters.line_sdk import ApiException, api_client

if TYPE_CHECKING:
    from linebot.v3.messaging import MessagingApi, MessagingApiBlob

BULK_LINK_MAX = 500


class RichMenuApiError(Exception):
    def __init__(self, message: str, status: int | None, retryable: bool):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class LineRichMenus:
    def __init__(self, host: str, data_host: str, access_token: str, timeout_s: float = 10.0):
        self._client = api_client(host, access_token)
        self._data_client = api_client(data_host, access_token)
        self._timeout = timeout_s

    # The SDK's API classes and models are imported at first use: seconds a worker's start skips.
    @cached_property
    def _api(self) -> MessagingApi:
        from linebot.v3.messaging import MessagingApi
        return MessagingApi(self._client)

    @cached_property
    def _blob(self) -> MessagingApiBlob:
        from linebot.v3.messaging import MessagingApiBlob
        return MessagingApiBlob(self._data_client)

    def list_menus(self) -> list[dict]:
        menus = self._call(lambda: self._api.get_rich_menu_list(_request_timeout=self._timeout))
        return [{"richMenuId": m.rich_menu_id, "name": m.name} for m in menus.richmenus]

    def create(self, request: dict) -> str:
        from linebot.v3.messaging import RichMenuRequest
        body = RichMenuRequest.from_dict(request)
        return self._call(lambda: self._api.create_rich_menu(body, _request_timeout=self._timeout)).rich_menu_id

    def upload_image(self, rich_menu_id: str, image: bytes, content_type: str) -> None:
        self._call(lambda: self._blob.set_rich_menu_image(
            rich_menu_id, image, _headers={"Content-Type": content_type}, _request_timeout=self._timeout))

    def image(self, rich_menu_id: str) -> bytes:
        return self._call(lambda: self._blob.get_rich_menu_image(rich_menu_id, _request_timeout=self._timeout))

    def delete(self, rich_menu_id: str) -> None:
        self._call(lambda: self._api.delete_rich_menu(rich_menu_id, _request_timeout=self._timeout))

    def aliases(self) -> dict[str, str]:
        listing = self._call(lambda: self._api.get_rich_menu_alias_list(_request_timeout=self._timeout))
        return {a.rich_menu_alias_id: a.rich_menu_id for a in listing.aliases}

    def set_alias(self, alias_id: str, rich_menu_id: str, exists: bool) -> None:
        from linebot.v3.messaging import CreateRichMenuAliasRequest, UpdateRichMenuAliasRequest
        if exists:
            body = UpdateRichMenuAliasRequest(richMenuId=rich_menu_id)
            self._call(lambda: self._api.update_rich_menu_alias(alias_id, body, _request_timeout=self._timeout))
        else:
            body = CreateRichMenuAliasRequest(richMenuAliasId=alias_id, richMenuId=rich_menu_id)
            self._call(lambda: self._api.create_rich_menu_alias(body, _request_timeout=self._timeout))

    def default_menu(self) -> str | None:
        try:
            return self._call(lambda: self._api.get_default_rich_menu_id(_request_timeout=self._timeout)).rich_menu_id
        except RichMenuApiError as exc:
            if exc.status == 404:
                return None           # no default menu set
            raise

    def set_default(self, rich_menu_id: str) -> None:
        self._call(lambda: self._api.set_default_rich_menu(rich_menu_id, _request_timeout=self._timeout))

    def link(self, user_id: str, rich_menu_id: str) -> None:
        self._call(lambda: self._api.link_rich_menu_id_to_user(user_id, rich_menu_id, _request_timeout=self._timeout))

    def bulk_link(self, user_ids: list[str], rich_menu_id: str) -> None:
        if not 1 <= len(user_ids) <= BULK_LINK_MAX:
            raise ValueError(f"bulk link takes 1 to {BULK_LINK_MAX} users per call, not {len(user_ids)}")
        from linebot.v3.messaging import RichMenuBulkLinkRequest
        body = RichMenuBulkLinkRequest(richMenuId=rich_menu_id, userIds=user_ids)
        self._call(lambda: self._api.link_rich_menu_id_to_users(body, _request_timeout=self._timeout))

    @staticmethod
    def _call(call):
        try:
            return call()
        except ApiException as exc:
            status = exc.status or 0
            raise RichMenuApiError(_line_error_text(exc), status, status == 429 or status >= 500) from None
        except urllib3.exceptions.HTTPError as exc:
            raise RichMenuApiError(f"no answer from LINE: {type(exc).__name__}", None, True) from None
