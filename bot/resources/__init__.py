"""The municipal resource index: entries, per-locale texts, loading, checking, importing, search."""
from bot.resources.loader import ResourceIndexError, load_index
from bot.resources.model import Contact, Entry, EntryText, ResourceIndex, Source
from bot.resources.search import Candidate, SearchResult

__all__ = ["Candidate", "Contact", "Entry", "EntryText", "ResourceIndex", "ResourceIndexError", "SearchResult",
           "Source", "load_index"]
