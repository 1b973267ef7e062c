"""Translator port adapters: Google Cloud Translation v3, a Redis cache, and an offline backend.

A translation failure never blocks a message: the adapters return the original text marked
`translated=False` with the error, and the inbox offers a retry.
"""
from __future__ import annotations

import hashlib
import json
import logging

import redis

from bot.ports import Translation, Translator

log = logging.getLogger(__name__)

# Our locale ids → the language codes Cloud Translation uses.
GOOGLE_CODES = {"ja-easy": "ja", "zh-Hans": "zh-CN", "zh-Hant": "zh-TW", "pt-BR": "pt"}


def google_code(locale: str | None) -> str | None:
    return GOOGLE_CODES.get(locale, locale) if locale else None


class NoneTranslator:
    """No machine translation (offline or not configured): the original, clearly marked."""
    translates = False

    def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        return Translation(text=text, source=source, target=target, translated=False, error="not translated")


class CloudTranslator:
    translates = True
    def __init__(self, project: str, location: str = "global", api_endpoint: str = "", glossary: str = "",
                 credentials=None, timeout_s: float = 5.0):
        from google.api_core.client_options import ClientOptions
        from google.cloud import translate_v3

        options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
        self._client = translate_v3.TranslationServiceClient(transport="rest", client_options=options,
                                                             credentials=credentials)
        self._parent = f"projects/{project}/locations/{location}"
        self._glossary = f"{self._parent}/glossaries/{glossary}" if glossary else ""
        self._timeout = timeout_s

    def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        from google.api_core import exceptions as google_errors

        request: dict[str, object] = {"parent": self._parent, "contents": [text], "mime_type": "text/plain",
                   "target_language_code": google_code(target)}
        if source:
            request["source_language_code"] = google_code(source)
        if self._glossary and source:
            request["glossary_config"] = {"glossary": self._glossary}
        try:
            response = self._client.translate_text(request=request, timeout=self._timeout, retry=None)
        except (google_errors.GoogleAPICallError, google_errors.RetryError, OSError, ValueError) as exc:
            log.warning("translation failed: %s", type(exc).__name__)
            return Translation(text=text, source=source, target=target, translated=False,
                               error=f"translation failed: {type(exc).__name__}")
        chosen = (response.glossary_translations or response.translations)[0]
        detected = chosen.detected_language_code or source
        return Translation(text=chosen.translated_text, source=detected, target=target, translated=True)


class CachedTranslator:
    """Keeps successful translations in Redis, keyed by a digest of the text and the language pair."""

    def __init__(self, inner: Translator, connection: redis.Redis, ttl_s: int = 30 * 24 * 3600):
        self._inner, self._redis, self._ttl = inner, connection, ttl_s
        self.translates = getattr(inner, "translates", True)

    @staticmethod
    def key(text: str, target: str, source: str | None) -> str:
        digest = hashlib.sha256(text.encode()).hexdigest()
        return f"bot:tr:{source or 'auto'}:{target}:{digest}"

    def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        key = self.key(text, target, source)
        try:
            cached = self._redis.get(key)
        except redis.RedisError:
            cached = None
        if cached:
            data = json.loads(cached)
            return Translation(text=data["text"], source=data["source"], target=target, translated=True)
        result = self._inner.translate(text, target, source)
        if result.translated:
            try:
                self._redis.set(key, json.dumps({"text": result.text, "source": result.source}), ex=self._ttl)
            except redis.RedisError:
                pass                       # the cache is an optimisation; a miss costs one more call
        return result
