"""Where one free-text message goes: safety first, then the resource index.

Shared by the live bot and `python -m bot eval-faq`, so what is measured is what runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.triage import NO_MATCH, TriageResult, triage

if TYPE_CHECKING:
    from bot.resources.model import ResourceIndex

TRIAGE_KINDS = {"emergency": "emergency", "crisis": "crisis", "advisor": "handoff"}
# Shown with an emergency even when the triage rule names no resource: the numbers save lives.
EMERGENCY_FALLBACK_IDS = ("emergency-119",)
MAX_SHOWN = 3


@dataclass(frozen=True)
class Route:
    kind: str                   # "emergency" | "crisis" | "handoff" | "guide" | "answer" | "suggest" | "not_found"
    triage: TriageResult
    entry_ids: tuple[str, ...]  # answer: the one entry; suggest: up to 3; emergency/crisis/handoff/guide: entries to show
    topic: str | None           # case topic when handing off


def route_text(text: str, locale: str, *, triage_rules, index: "ResourceIndex",
               municipality: str | None = None, pivot_text: str | None = None) -> Route:
    result = triage(text, triage_rules) if triage_rules is not None else NO_MATCH
    if result.level in TRIAGE_KINDS:
        return _safety_route(result, text, locale, index, municipality, pivot_text)
    if result.is_calm_question:
        return _calm_question_route(result, text, locale, index, municipality, pivot_text)
    found = index.search(text, locale, municipality=municipality, pivot_text=pivot_text)
    ids = tuple(candidate.entry_id for candidate in found.candidates)
    if found.decision == "answer":
        # An entry marked handoff_recommended is still answered: it is background the parent
        # can use while the answering code offers a person.
        return Route("answer", result, ids[:1], None)
    if found.decision == "suggest":
        return Route("suggest", result, ids[:MAX_SHOWN], None)
    return Route("not_found", result, (), None)


def _safety_route(result: TriageResult, text: str, locale: str, index: "ResourceIndex",
                  municipality: str | None, pivot_text: str | None) -> Route:
    kind = TRIAGE_KINDS[result.level]
    shown = [entry_id for entry_id in result.resource_ids if index.has(entry_id)]
    if kind == "emergency" and not shown:
        shown = [entry_id for entry_id in EMERGENCY_FALLBACK_IDS if index.has(entry_id)]
    if kind == "handoff" and len(shown) < MAX_SHOWN:
        # A case for a person: what the index knows about the question helps while waiting.
        found = index.search(text, locale, municipality=municipality, pivot_text=pivot_text)
        if found.decision == "answer":
            shown += [c.entry_id for c in found.candidates if c.entry_id not in shown]
    return Route(kind, result, tuple(shown[:MAX_SHOWN]), result.topic or "living")


def _calm_question_route(result: TriageResult, text: str, locale: str, index: "ResourceIndex",
                         municipality: str | None, pivot_text: str | None) -> Route:
    """Asking about danger, calmly: the rule's numbers first, then what the index answers
    (the vaccination entry for "mild redness after the shot"); no case."""
    shown = [entry_id for entry_id in result.resource_ids if index.has(entry_id)]
    found = index.search(text, locale, municipality=municipality, pivot_text=pivot_text)
    if found.decision == "answer":
        shown += [c.entry_id for c in found.candidates[:1] if c.entry_id not in shown]
    return Route("guide", result, tuple(shown[:MAX_SHOWN]), None)
