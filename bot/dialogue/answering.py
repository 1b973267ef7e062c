"""Answers from the municipal resource index, in the user's language.

A confident match: title, answer, contacts and source, with "this helped / talk to a person /
menu". Not confident: up to three likely entries as buttons plus "talk to a person". Nothing:
an apology (the conversation offers a person after two misses). What was not answered, or not
helpful, is recorded for admins.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.dialogue.messages import MAX_TEXT_UTF16, postback_action, text_message, utf16_len
from bot.dialogue.routing import route_text
from bot.dialogue.safety import CalmAnswers
from bot.dialogue.turn import TurnContext, UserState
from bot.ports import Classifier

if TYPE_CHECKING:
    from bot.content.registry import Content
    from bot.dialogue.conversation import Conversation

OFFICIAL_FIRST = {"official": 0, "semi-official": 1, "secondary": 2}
# While a person handles the case, "thank you", "ok", "はい" must not fetch an index entry (the
# index answers such chit-chat with confidence): only messages with some substance are tried.
MIN_WORDS_IN_CASE = 5
MIN_CHARS_UNSPACED = 8           # Japanese, Chinese, Thai, Burmese are written without spaces


def is_substantial(text: str) -> bool:
    if len(text.split()) >= MIN_WORDS_IN_CASE:
        return True
    letters = [ch for ch in text if not ch.isspace()]
    return not any(ch.isascii() and ch.isalpha() for ch in letters) and len(letters) >= MIN_CHARS_UNSPACED


class IndexAnswerer:
    def __init__(self, content: Content, municipality: str | None = None,
                 pivot: Callable[[str, str], str | None] | None = None,
                 record_question: Callable[..., None] | None = None, user: UserState | None = None,
                 classifier: Classifier | None = None):
        self._content = content
        self._classifier = classifier            # bot/dialogue/classifier.py, fused with the search; None: search only
        self._index = content.index
        self._catalog = content.catalog
        self._municipality = municipality
        self._user = user                        # this turn's user: their municipality picks local facts
        self._pivot = pivot                      # callable(text, locale) -> English text, or None
        self._record = record_question or (lambda ctx, **kwargs: None)
        self._calm = CalmAnswers(content, self.render_entries, municipality)

    # ---- rendering ---------------------------------------------------------------------------------
    def render_entries(self, ids: list[str], locale: str, municipality: str | None = None) -> list[dict]:
        return [text_message(self.entry_text(entry_id, locale, municipality))
                for entry_id in ids if self._index.has(entry_id)]

    def home_municipality(self) -> str | None:
        """The user's municipality (chosen in the chat), else the deployment's."""
        return (self._user.municipality if self._user is not None else None) or self._municipality

    def entry_text(self, entry_id: str, locale: str, municipality: str | None = None) -> str:
        entry, text = self._index.entry(entry_id), self._index.known_text(entry_id, locale)
        local = entry.variant_for(municipality or self.home_municipality(), self._index.areas)
        lines = [f"■ {text.title}", "", text.answer.strip()]
        contacts = [self._contact_line(c, locale) for c in (local.contacts if local else entry.contacts)]
        if contacts:
            lines += ["", *contacts]
        # The user's own office's page first: that is where their local facts come from. Only a page
        # on the official sites (resources/official_domains.yaml) is shown as official information: a
        # blog, a cached copy or another city's page is left out, never shown under that heading.
        source = sorted((s for s in (*(local.sources if local else ()), *entry.sources) if self._index.shows_source(s)),
                        key=lambda s: OFFICIAL_FIRST.get(s.type, 3))
        if source:
            lines += ["", f"{self._catalog.text(locale, 'answers.source')}: {source[0].url}"]
        rendered = "\n".join(lines)
        return rendered if utf16_len(rendered) <= MAX_TEXT_UTF16 else rendered[: MAX_TEXT_UTF16 // 2]

    def _contact_line(self, contact, locale: str) -> str:
        role = self._index.word(locale, "contact_roles", contact.role) if contact.role else None
        # A role reads in the parent's language; the official name stays as written on the door.
        parts = [f"☎ {role}: {contact.name}" if role else f"☎ {contact.name}"]
        phones = [number for number in (contact.phone, contact.alt_phone) if number]
        if phones:
            parts.append(" / ".join(phones))     # #7119 / 03-6810-1636: the second for dial and IP phones
        hours = self._hours(contact, locale)
        if hours:
            parts.append(f"({hours})")
        lines = [" ".join(parts)]
        if contact.address:
            lines.append(f"   📍 {contact.address}")
        if contact.url:
            lines.append(f"   {contact.url}")
        return "\n".join(lines)

    def _hours(self, contact, locale: str) -> str | None:
        if not contact.opening:
            return contact.hours
        return ", ".join(self._opening(opening, locale) for opening in contact.opening)

    def _opening(self, opening, locale: str) -> str:
        days = self._index.word(locale, "days", opening.days) or opening.days
        end = opening.end
        if opening.next_day:                     # 18:00 to (next morning) 8:00
            end = f"{self._index.word(locale, 'days', 'next_day') or ''} {end}".strip()
        return f"{days} {opening.start}-{end}"

    # ---- answering -----------------------------------------------------------------------------------
    def answer(self, ctx: TurnContext, text: str) -> bool:
        """Answer from the index; True when something useful was shown."""
        route = self._route(ctx, text)
        if route.kind in ("answer", "guide"):
            return self._answered(ctx, text, route)
        ctx.outcome = {"kind": route.kind, "entry_ids": list(route.entry_ids)}
        if route.kind == "suggest" and route.entry_ids:
            self._record(ctx, text=text, outcome="suggested", entry_id=route.entry_ids[0])
            self._suggest(ctx, list(route.entry_ids))
            return True
        self._record(ctx, text=text, outcome="not_found", entry_id=None)
        ctx.say(ctx.t("answers.not_found"))
        return False

    def answer_if_confident(self, ctx: TurnContext, text: str) -> bool:
        """Only a confident answer to a real question, nothing else (a person answers the rest)."""
        if not is_substantial(text):
            return False
        route = self._route(ctx, text)
        return route.kind in ("answer", "guide") and self._answered(ctx, text, route)

    def _answered(self, ctx: TurnContext, text: str, route) -> bool:
        ctx.outcome = {"kind": route.kind, "entry_ids": list(route.entry_ids)}
        self._record(ctx, text=text, outcome="answered", entry_id=(route.entry_ids or (None,))[0])
        if route.kind == "guide":            # asking about danger, calmly: the number first, no case
            self._calm.answer(ctx, route.triage, route.entry_ids)
        else:
            self._confident(ctx, route.entry_ids[0])
        return True

    def _route(self, ctx: TurnContext, text: str):
        municipality = (ctx.user.municipality if ctx.user else None) or self._municipality
        route = route_text(text, ctx.locale, triage_rules=self._content.triage_rules, index=self._index,
                           municipality=municipality, classifier=self._classifier)
        if route.kind not in ("answer", "guide") and self._pivot is not None:
            # Not sure from the text itself: search once more through a machine translation to
            # English (only then, as it costs a call to the translation service).
            pivot_text = self._pivot(text, ctx.locale)
            if pivot_text:
                route = route_text(text, ctx.locale, triage_rules=self._content.triage_rules, index=self._index,
                                   municipality=municipality, pivot_text=pivot_text, classifier=self._classifier)
        return route

    def _confident(self, ctx: TurnContext, entry_id: str) -> None:
        body = self.entry_text(entry_id, ctx.locale, ctx.user.municipality if ctx.user else None)
        ctx.say(text_message(body, quick_replies=[
            postback_action(ctx.t("answers.helped"), f"fb:helped:{entry_id}"),
            postback_action(ctx.t("answers.not_helped"), f"fb:not_helped:{entry_id}"),
            postback_action(ctx.t("menu.person"), "cmd:person"),
            postback_action(ctx.t("menu.main"), "cmd:menu")]))

    def _suggest(self, ctx: TurnContext, ids: list[str]) -> None:
        buttons = [postback_action(self._label(entry_id, ctx.locale), f"res:{entry_id}") for entry_id in ids[:3]]
        buttons.append(postback_action(ctx.t("menu.person"), "cmd:person"))
        ctx.say(text_message(ctx.t("answers.did_you_mean"), quick_replies=buttons))

    def _label(self, entry_id: str, locale: str) -> str:
        text = self._index.known_text(entry_id, locale)
        return text.label or text.title

    def on_postback(self, ctx: TurnContext, kind: str, value: str, conversation: Conversation) -> None:
        if kind == "res" and self._index.has(value):
            self._confident(ctx, value)
        elif kind == "fb" and value.startswith("helped:"):
            ctx.say(ctx.t("answers.thanks"))
        elif kind == "fb" and value.startswith("not_helped:"):
            self._record(ctx, text=None, outcome="not_helpful", entry_id=value.split(":", 1)[1])
            ctx.say(text_message(ctx.t("answers.sorry_not_helpful"), quick_replies=[
                postback_action(ctx.t("menu.person"), "cmd:person"),
                postback_action(ctx.t("menu.main"), "cmd:menu")]))
        else:
            conversation.run_command(ctx, "menu")
