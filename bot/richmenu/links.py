"""Which rich menu each locale has at LINE, and linking parents to the one in their language.

The ids live at LINE as aliases (`lcb-<locale>`, set by `richmenu deploy`); Redis keeps a copy so a
link costs one call. A copy that is missing or points at a deleted menu is refreshed from LINE.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from functools import partial

import redis

from bot import LOCALES
from bot.adapters.line_richmenu import BULK_LINK_MAX, LineRichMenus, RichMenuApiError

log = logging.getLogger(__name__)
IDS_KEY = "richmenu:ids"
# "No menu is deployed", remembered for a while: without it every new parent's link asked LINE
# for its aliases again (a call per follow for a desk that uses no rich menus).
NONE_KEY = "richmenu:none-deployed"
NONE_TTL_S = 300
ALIAS_PREFIX = "lcb-"


def alias_for(locale: str) -> str:
    """LINE's alias ids are lower-case letters, digits, '-' and '_' (zh-Hans → lcb-zh-hans)."""
    return ALIAS_PREFIX + locale.lower()


def locale_of_alias(alias_id: str) -> str | None:
    return next((loc for loc in LOCALES if alias_for(loc) == alias_id), None)


class RichMenuLinks:
    def __init__(self, redis_client: redis.Redis, api: LineRichMenus, default_locale: str,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 5, backoff_base_s: float = 0.5):
        self._redis = redis_client
        self._api = api
        self._default = default_locale
        self._sleep = sleep
        self._attempts = max_attempts
        self._backoff = backoff_base_s

    def save(self, ids: dict[str, str]) -> None:
        with self._redis.pipeline() as pipe:
            pipe.delete(IDS_KEY, NONE_KEY)
            if ids:
                pipe.hset(IDS_KEY, mapping=ids)  # type: ignore[arg-type]  # redis-py's key union is invariant
            pipe.execute()

    def menu_for(self, locale: str | None, refresh: bool = False) -> str | None:
        locale = locale if locale in LOCALES else self._default
        if not refresh:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.hget(IDS_KEY, locale)
                pipe.exists(NONE_KEY)
                cached, none_deployed = pipe.execute()
            if cached:
                return cached.decode() if isinstance(cached, bytes) else cached
            if none_deployed:
                return None
        ids = {loc: menu for alias, menu in self._api.aliases().items() if (loc := locale_of_alias(alias))}
        self.save(ids)
        if not ids:
            self._redis.set(NONE_KEY, "1", ex=NONE_TTL_S)
        return ids.get(locale) or ids.get(self._default)

    def link(self, line_user_id: str, locale: str | None) -> bool:
        """Link one user; False when no menus are deployed. RichMenuApiError (retryable) is raised for
        the task queue to retry; a menu deleted since the copy was made is looked up again once."""
        menu_id = self.menu_for(locale)
        if menu_id is None:
            return False
        try:
            self._api.link(line_user_id, menu_id)
        except RichMenuApiError as exc:
            if exc.status != 404:
                raise
            menu_id = self.menu_for(locale, refresh=True)
            if menu_id is None:
                return False
            self._api.link(line_user_id, menu_id)
        return True

    def link_unless_refused(self, line_user_id: str, locale: str | None) -> bool:
        """`link`, where a refusal LINE would repeat (a 4xx) is logged and gives False; an error
        that may pass (RichMenuApiError, retryable) is raised for the caller to try again later."""
        try:
            return self.link(line_user_id, locale)
        except RichMenuApiError as exc:
            if exc.retryable:
                raise
            log.warning("rich menu link refused by LINE: %s", exc)
            return False

    def bulk_link(self, users: Iterable[tuple[str, str | None]]) -> int:
        """Link many users (after a deploy), 500 per call, each call retried with backoff."""
        by_menu: dict[str, list[str]] = {}
        for line_user_id, locale in users:
            menu_id = self.menu_for(locale)
            if menu_id:
                by_menu.setdefault(menu_id, []).append(line_user_id)
        linked = 0
        for menu_id, user_ids in by_menu.items():
            for start in range(0, len(user_ids), BULK_LINK_MAX):
                chunk = user_ids[start:start + BULK_LINK_MAX]
                self._with_retries(partial(self._api.bulk_link, chunk, menu_id))
                linked += len(chunk)
        return linked

    def _with_retries(self, call) -> None:
        for attempt in range(self._attempts):
            try:
                return call()
            except RichMenuApiError as exc:
                if not exc.retryable or attempt == self._attempts - 1:
                    raise
                delay = self._backoff * (2 ** attempt)
                log.warning("rich menu call failed (%s); retrying in %.1fs", exc, delay)
                self._sleep(delay)
