"""Multilingual LINE consultation bot: webhook, worker, flows, resource index, triage and inbox."""

LOCALES = (
    "ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "tl", "ne",
    "id", "pt-BR", "es", "my", "si", "th", "hi", "bn",
)
