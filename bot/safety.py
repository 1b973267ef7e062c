"""Safety first: every free-text message is triaged before anything else.

Emergency → what to do and the numbers, at once, in the user's language, and an urgent case.
Crisis → the matching hotline(s) from the index and a high-priority case.
A request for a person, symptoms that need a judgement, a dispute → a case, with hints.
"""
from __future__ import annotations

from bot.messages import text_message
from bot.triage import TriageResult, triage
from bot.turn import TurnContext

CASE_PRIORITY = {"emergency": "urgent", "crisis": "high"}
ADVISOR_PRIORITY = {"medical-symptoms": "high", "legal-dispute": "normal", "labour-dispute": "normal",
                    "person-request": "normal"}


class SafetyResponder:
    def __init__(self, content, cases, render_entries, language_hint, privacy, assess=None):
        self._rules = content.triage_rules
        # The shared assessment (bot/routing.py: rules, then the classifier and translation nets).
        self._assess = assess or (lambda text: triage(text, self._rules))
        self._catalog = content.catalog
        self._cases = cases
        self._render_entries = render_entries
        self._language_hint = language_hint
        self._privacy = privacy

    def respond(self, ctx: TurnContext, text: str) -> bool:
        """Answer and open a case when the message needs a person; False lets the bot go on."""
        result = self._assess(text)
        if result.level == "none":
            return False
        locale = self._locale_for(ctx, text)
        if ctx.user is not None and ctx.user.consent is not True:
            self._respond_without_case(ctx, result, locale)
            return True
        ctx.say(text_message(self._text(locale, result)))
        if result.level != "emergency" and result.resource_ids:
            ctx.say(*self._render_entries(list(result.resource_ids), locale))
        self._open_case(ctx, result)
        return True

    def _text(self, locale: str, result: TriageResult) -> str:
        """safety.<level>.<category>, or the level's general text when the category has none."""
        key = f"safety.{result.level}.{result.category}"
        return self._catalog.text(locale, key if self._catalog.has("en", key) else f"safety.{result.level}.general")

    def _respond_without_case(self, ctx: TurnContext, result: TriageResult, locale: str) -> None:
        """The user has not agreed to the privacy notice: numbers and hotlines, no case, no storage."""
        if result.level == "emergency":
            ctx.say(self._catalog.text(locale, "safety.emergency_public"))
        elif result.resource_ids:
            ctx.say(*self._render_entries(list(result.resource_ids), locale))
        ctx.say(self._privacy.notice(ctx, "privacy.reminder"))

    def _locale_for(self, ctx: TurnContext, text: str) -> str:
        # A first message before any language was chosen still gets the numbers in its language.
        if ctx.user and ctx.user.locale:
            return ctx.user.locale
        hint = self._language_hint(text)
        if hint and ctx.user:
            ctx.user.locale = hint            # no language chosen yet: not a switch, a first choice
        return hint or ctx.locale

    def _open_case(self, ctx: TurnContext, result: TriageResult) -> None:
        if ctx.user is None:
            return
        priority = CASE_PRIORITY.get(result.level) or ADVISOR_PRIORITY.get(result.category or "", "normal")
        reason = f"triage: {result.level}/{result.category}"
        self._cases.open_case(ctx, topic=result.topic or "living", priority=priority, reason=reason)
