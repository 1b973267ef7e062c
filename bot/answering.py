"""Answers from the municipal resource index, in the user's language.

A confident match: title, answer, contacts and source, with "this helped / talk to a person /
menu". Not confident: up to three likely entries as buttons plus "talk to a person". Nothing:
an apology (the conversation offers a person after two misses). What was not answered, or not
helpful, is recorded for admins.
"""
from __future__ import annotations

from bot.messages import MAX_TEXT_UTF16, postback_action, text_message, utf16_len
from bot.routing import route_text
from bot.turn import TurnContext

OFFICIAL_FIRST = {"official": 0, "semi-official": 1, "secondary": 2}


class IndexAnswerer:
    def __init__(self, content, municipality: str | None = None, pivot=None, record_question=None, classifier=None):
        self._content = content
        self._classifier = classifier            # bot/classifier.py, fused with the search; None: search only
        self._index = content.index
        self._catalog = content.catalog
        self._municipality = municipality
        self._pivot = pivot                      # callable(text, locale) -> English text, or None
        self._record = record_question or (lambda ctx, **kwargs: None)

    # ---- rendering ---------------------------------------------------------------------------------
    def render_entries(self, ids: list[str], locale: str) -> list[dict]:
        return [text_message(self.entry_text(entry_id, locale)) for entry_id in ids if self._index.has(entry_id)]

    def entry_text(self, entry_id: str, locale: str) -> str:
        entry, text = self._index.get(entry_id), self._index.text(entry_id, locale)
        lines = [f"■ {text.title}", "", text.answer.strip()]
        contacts = [self._contact_line(c) for c in entry.contacts]
        if contacts:
            lines += ["", *contacts]
        source = sorted(entry.sources, key=lambda s: OFFICIAL_FIRST.get(s.type, 3))
        if source:
            lines += ["", f"{self._catalog.text(locale, 'answers.source')}: {source[0].url}"]
        rendered = "\n".join(lines)
        return rendered if utf16_len(rendered) <= MAX_TEXT_UTF16 else rendered[: MAX_TEXT_UTF16 // 2]

    @staticmethod
    def _contact_line(contact) -> str:
        parts = [f"☎ {contact.name}"]
        if contact.phone:
            parts.append(contact.phone)
        if contact.hours:
            parts.append(f"({contact.hours})")
        line = " ".join(parts)
        return f"{line}\n   {contact.url}" if contact.url else line

    # ---- answering -----------------------------------------------------------------------------------
    def answer(self, ctx: TurnContext, text: str) -> bool:
        """Answer from the index; True when something useful was shown."""
        municipality = (ctx.user.municipality if ctx.user else None) or self._municipality
        route = route_text(text, ctx.locale, triage_rules=self._content.triage_rules, index=self._index,
                           municipality=municipality, classifier=self._classifier)
        if route.kind != "answer" and self._pivot is not None:
            # Not sure from the text itself: search once more through a machine translation to
            # English (only then, as it costs a call to the translation service).
            pivot_text = self._pivot(text, ctx.locale)
            if pivot_text:
                route = route_text(text, ctx.locale, triage_rules=self._content.triage_rules, index=self._index,
                                   municipality=municipality, pivot_text=pivot_text, classifier=self._classifier)
        ctx.outcome = {"kind": route.kind, "entry_ids": list(route.entry_ids)}
        if route.kind == "answer":
            self._record(ctx, text=text, outcome="answered", entry_id=route.entry_ids[0])
            self._confident(ctx, route.entry_ids[0])
            return True
        if route.kind == "suggest" and route.entry_ids:
            self._record(ctx, text=text, outcome="suggested", entry_id=route.entry_ids[0])
            self._suggest(ctx, list(route.entry_ids))
            return True
        self._record(ctx, text=text, outcome="not_found", entry_id=None)
        ctx.say(ctx.t("answers.not_found"))
        return False

    def _confident(self, ctx: TurnContext, entry_id: str) -> None:
        body = self.entry_text(entry_id, ctx.locale)
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
        text = self._index.text(entry_id, locale)
        return text.label or text.title

    def on_postback(self, ctx: TurnContext, kind: str, value: str, conversation) -> None:
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
