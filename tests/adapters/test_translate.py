"""The real google-cloud-translate client (REST transport) against the local fake endpoint."""
from __future__ import annotations

import pytest
from google.auth.credentials import AnonymousCredentials

from bot.adapters.translate import CachedTranslator, CloudTranslator, NoneTranslator
from bot.devtools.fake_translate import FakeTranslateServer


@pytest.fixture
def fake_translate():
    server = FakeTranslateServer()
    yield server
    server.stop()


def cloud(server, **kwargs):
    return CloudTranslator("demo-project", "us-central1", api_endpoint=server.url,
                           credentials=AnonymousCredentials(), timeout_s=2, **kwargs)


def test_translates_through_the_real_client(fake_translate):
    result = cloud(fake_translate).translate("Con tôi bị sốt", target="ja", source="vi")
    assert result.translated and result.text == "子どもが熱を出しています"
    sent = fake_translate.state.requests[0]
    assert sent["targetLanguageCode"] == "ja" and sent["sourceLanguageCode"] == "vi"


def test_our_locale_ids_become_google_codes(fake_translate):
    cloud(fake_translate).translate("hello", target="zh-Hant", source="pt-BR")
    sent = fake_translate.state.requests[0]
    assert sent["targetLanguageCode"] == "zh-TW" and sent["sourceLanguageCode"] == "pt"


def test_glossary_is_used_when_configured(fake_translate):
    result = cloud(fake_translate, glossary="admin-terms").translate("在留資格", target="vi", source="ja")
    assert result.text.endswith("(glossary)")
    assert fake_translate.state.requests[0]["glossaryConfig"]["glossary"].endswith("/glossaries/admin-terms")


def test_server_error_returns_the_original_marked_not_translated(fake_translate):
    fake_translate.state.failures.append({"status": 503})
    result = cloud(fake_translate).translate("Xin chào", target="ja", source="vi")
    assert not result.translated and result.text == "Xin chào" and "failed" in result.error


def test_timeout_returns_the_original(fake_translate):
    fake_translate.state.failures.append({"hang": 4})
    result = cloud(fake_translate).translate("Xin chào", target="ja", source="vi")
    assert not result.translated and result.text == "Xin chào"


def test_cache_answers_the_second_time_without_a_call(fake_translate, redis_client):
    translator = CachedTranslator(cloud(fake_translate), redis_client)
    first = translator.translate("Xin chào", target="ja", source="vi")
    second = translator.translate("Xin chào", target="ja", source="vi")
    assert first.text == second.text == "こんにちは"
    assert len(fake_translate.state.requests) == 1


def test_failures_are_not_cached(fake_translate, redis_client):
    translator = CachedTranslator(cloud(fake_translate), redis_client)
    fake_translate.state.failures.append({"status": 500})
    assert not translator.translate("Xin chào", target="ja", source="vi").translated
    assert translator.translate("Xin chào", target="ja", source="vi").translated


def test_none_backend_marks_not_translated():
    result = NoneTranslator().translate("Xin chào", target="ja", source="vi")
    assert result.text == "Xin chào" and not result.translated
