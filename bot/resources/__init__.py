"""The municipal resource index: entries, per-locale texts, loading, checking, importing, search.

The names below are imported on first use (PEP 562): a process that takes its index from the
content cache never imports the loader and its schema validator.
"""
from importlib import import_module

_HOMES = {"ResourceIndexError": "bot.resources.loader", "load_index": "bot.resources.loader",
          "Contact": "bot.resources.model", "Entry": "bot.resources.model", "EntryText": "bot.resources.model",
          "ResourceIndex": "bot.resources.model", "Source": "bot.resources.model",
          "Candidate": "bot.resources.search", "SearchResult": "bot.resources.search"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'bot.resources' has no attribute {name!r}")
