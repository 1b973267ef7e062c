"""One turn of a conversation with a parent: safety first, then commands, case, flow, index.

Order for every free-text message (DESIGN.md, Safety):
1. triage: emergency or crisis answers at once and opens a case, whatever else is going on;
2. global commands (menu, language, person, start over) in any of the 17 languages;
3. an open case with an advisor receives the message instead of the bot;
4. a flow question waiting for this answer;
5. a flow started by its keywords;
6. the resource index (answer, suggestions, or after two misses an offer of a person).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.content.i18n import Catalog
from bot.content.languages import NATIVE_NAMES
from bot.dialogue.messages import postback_action, text_message
from bot.dialogue.triage import LatestCall
from bot.dialogue.turn import TurnContext
from bot.dialogue.ui import language_picker, parse_postback
from bot.flows.engine import FlowEngine, FlowResult
from bot.flows.inputs import SENTENCE_END, normalise
from bot.ports import Clock

if TYPE_CHECKING:
    from bot.content.registry import Content
    from bot.dialogue.ports import Answers, Cases, ConversationStore, LanguageHint, Privacy, Safety

COMMANDS = ("menu", "language", "person", "restart", "delete")
MENU_FLOW = "main_menu"
MISSES_BEFORE_OFFER = 2
QUOTES = "\"'“”「」『』"      # texts say: write “menu”; a parent may copy the quotes too


@dataclass
class ConversationDeps:
    content: Content
    store: ConversationStore
    now: Callable[[], datetime]          # UTC, for storage (clock.now)
    clock: Clock                         # Japan's date for what the parent reads
    idle: timedelta
    cases: Cases
    safety: Safety
    answers: Answers
    privacy: Privacy
    language_hint: LanguageHint
    municipality: str | None = None
    municipalities: tuple[tuple[str, str], ...] = ()   # (slug, button label) of resources/municipalities.yaml


def _folded(word: str) -> str:
    return normalise(word).casefold().strip(SENTENCE_END + QUOTES)


# Per flow with keywords, in order: (id, the longest message its keywords allow, ((keyword, the
# longest message it allows), ...)), and the longest any allows; made once per content.
KeywordTable = tuple[float, tuple[tuple[str, float, tuple[tuple[str, float], ...]], ...]]
_keyword_tables: LatestCall[KeywordTable] = LatestCall()


def _keyword_table(flows, catalog: Catalog) -> KeywordTable:
    def words(key: str) -> tuple[tuple[str, float], ...]:
        return tuple((word, len(word) * 1.5 + 4) for word in catalog.normalised_words(key, _folded) if len(word) >= 2)

    def build() -> KeywordTable:
        table = tuple((flow.id, catalog.longest_word(flow.keywords_key, _folded) * 1.5 + 4, words(flow.keywords_key))
                      for flow in flows.flows.values() if flow.keywords_key)
        return max((row[1] for row in table), default=-1.0), table
    return _keyword_tables.get("", (flows, catalog), build)


class Conversation:
    def __init__(self, deps: ConversationDeps):
        self.deps = deps
        self.catalog: Catalog = deps.content.catalog

    # ---- entry points used by handlers --------------------------------------------------------
    def after_language_known(self, ctx: TurnContext) -> None:
        if self._needs_consent(ctx):
            ctx.say(self.deps.privacy.notice(ctx))
            return
        self.show_menu(ctx)

    def after_consent(self, ctx: TurnContext) -> None:
        """Ask once where the user lives (unless the deployment serves one municipality), then the menu."""
        choices = self.deps.municipalities
        if choices and not self.deps.municipality and not ctx.known_user.municipality:
            buttons = [postback_action(label, f"muni:{slug}") for slug, label in choices]
            buttons.append(postback_action(ctx.t("core.municipality_other"), "muni:other"))
            ctx.say(text_message(ctx.t("core.municipality_question"), quick_replies=buttons))
            return
        self.show_menu(ctx)

    def show_menu(self, ctx: TurnContext) -> None:
        self._apply(ctx, self._engine(ctx).start(MENU_FLOW), misses=0)

    def _needs_consent(self, ctx: TurnContext) -> bool:
        return ctx.known_user.consent is not True

    def on_non_text(self, ctx: TurnContext, kind: str) -> None:
        if self._case_takes(ctx, f"[{kind}]", is_text=False):
            return
        ctx.say(ctx.t("core.non_text"))

    def on_text(self, ctx: TurnContext, text: str) -> None:
        if self.deps.safety.respond(ctx, text):
            return
        if not ctx.known_user.locale:
            # Never asked (no follow event seen): the language the message is clearly in, else English.
            ctx.known_user.locale = self.deps.language_hint(text) or "en"
            ctx.say(language_picker(ctx.t("core.change_language_offer"), more_label=ctx.t("core.more_languages")))
        reminders = ctx.service("reminders")
        if reminders is not None and reminders.on_text(ctx, text):
            return
        command = self.command_in(text)
        if command:
            self.run_command(ctx, command)
            return
        if self._needs_consent(ctx):
            self._public_only(ctx, text)
            return
        if self._case_takes(ctx, text):
            return
        stored = self.deps.store.load(ctx.known_user.line_user_id)
        if stored.state.active and self._idle_expired(stored):
            self._offer_continue(ctx)
            return
        if stored.state.active:
            result = self._engine(ctx).answer_text(stored.state, text)
            if result:
                self._apply(ctx, result, misses=0)
                return
        flow_id = self._flow_for_keywords(text)
        if flow_id:
            self._apply(ctx, self._engine(ctx).start(flow_id), misses=0)
            return
        self._answer_from_index(ctx, text, stored)

    def on_postback(self, ctx: TurnContext, data: str) -> None:
        kind, value = parse_postback(data)
        postback = ctx.event.get("postback")
        params = postback.get("params") if isinstance(postback, dict) else None
        params = params if isinstance(params, dict) else {}
        if kind == "cmd" and value in COMMANDS + ("continue",):
            self.run_command(ctx, value)
        elif kind == "f":
            self._tap(ctx, value, params)
        elif kind == "muni":
            known = {slug for slug, _ in self.deps.municipalities}
            ctx.known_user.municipality = value if value in known else "other"
            self.show_menu(ctx)
        elif kind == "privacy":
            self.deps.privacy.on_postback(ctx, value, self)
        elif kind == "rem" and ctx.service("reminders") is not None:
            ctx.service("reminders").on_postback(ctx, value)
        elif kind in {"res", "fb", "case"}:
            self._delegate_postback(ctx, kind, value)
        else:
            flow = self.deps.content.flows.for_postback(data) if self.deps.content.flows else None
            if flow:
                self._apply(ctx, self._engine(ctx).start(flow.id), misses=0)
            else:
                self.run_command(ctx, "menu")

    # ---- commands ------------------------------------------------------------------------------
    def command_in(self, text: str) -> str | None:
        typed = _folded(text)
        if not typed or len(typed) > 40:
            return None
        for command in COMMANDS:
            if typed in self.catalog.normalised_words(f"commands.{command}", _folded):
                return command
        return None

    def run_command(self, ctx: TurnContext, command: str) -> None:
        if command == "delete":
            self.deps.privacy.ask_delete(ctx)
        elif command in {"menu", "restart", "person", "continue"} and self._needs_consent(ctx):
            ctx.say(self.deps.privacy.notice(ctx))
        elif command == "language":
            ctx.say(language_picker(ctx.t("core.choose_language"), more_label=ctx.t("core.more_languages")))
        elif command == "person":
            self._hand_off(ctx, topic="living", priority="normal", reason="user asked for a person")
        elif command == "continue":
            stored = self.deps.store.load(ctx.known_user.line_user_id)
            result = self._engine(ctx).reprompt(stored.state)
            self._apply(ctx, result or self._engine(ctx).start(MENU_FLOW), misses=stored.misses)
        elif not self.deps.cases.leave_case(ctx):        # menu, restart
            self._apply(ctx, self._engine(ctx).start(MENU_FLOW), misses=0)

    # ---- pieces ----------------------------------------------------------------------------------
    def _engine(self, ctx: TurnContext) -> FlowEngine:
        return FlowEngine(self.deps.content.flows, self.catalog, ctx.locale, self._today(),
                          self.deps.answers.render_entries)

    def _today(self):
        """The parent's today is Japan's: at 08:30 in Tokyo the UTC date is still yesterday."""
        return self.deps.clock.today()

    def _apply(self, ctx: TurnContext, result: FlowResult, misses: int) -> None:
        ctx.say(*result.messages)
        self.deps.store.save(ctx.known_user.line_user_id, result.state, misses, self.deps.now())
        if result.handoff:
            self._hand_off(ctx, topic=result.handoff["topic"], priority=result.handoff["priority"], reason="flow")
        if result.command and result.command.startswith("reminders_") and ctx.service("reminders") is not None:
            ctx.service("reminders").from_flow(ctx, result.command, result.variables or {})
        elif result.command:
            self.run_command(ctx, result.command)

    def _tap(self, ctx: TurnContext, value: str, params: dict) -> None:
        flow_id, _, rest = value.partition(":")
        step_id, _, option_id = rest.partition(":")
        stored = self.deps.store.load(ctx.known_user.line_user_id)
        result = self._engine(ctx).tap(stored.state, flow_id, step_id, option_id, params)
        if result is None:                      # a button of a flow an admin has since changed
            result = self._engine(ctx).start(MENU_FLOW)
        self._apply(ctx, result, misses=0)

    def _flow_for_keywords(self, text: str) -> str | None:
        """A flow whose keyword is most of the message ("birth checklist", "妊娠しました").

        A longer question that merely contains a keyword ("how much are pregnancy checkups") is
        better answered by the index, so the keyword must make up most of what was typed.
        """
        typed = _folded(text)
        limit, table = _keyword_table(self.deps.content.flows, self.catalog)
        if len(typed) > limit:
            return None                  # longer than any keyword allows (most texts)
        for flow_id, flow_limit, words in table:
            if len(typed) > flow_limit:
                continue
            for word, word_limit in words:
                if word in typed and len(typed) <= word_limit:
                    return flow_id
        return None

    def _idle_expired(self, stored) -> bool:
        return stored.updated_at is not None and self.deps.now() - stored.updated_at > self.deps.idle

    def _offer_continue(self, ctx: TurnContext) -> None:
        ctx.say(text_message(ctx.t("core.idle_offer"), quick_replies=[
            postback_action(ctx.t("core.continue"), "cmd:continue"),
            postback_action(ctx.t("core.start_over"), "cmd:restart"),
        ]))

    def _case_takes(self, ctx: TurnContext, text: str, is_text: bool = True) -> bool:
        """An open (or just reopened) case receives the message; the user is never left in silence.

        A question the index answers with confidence is answered at once as well: the advisor
        still sees it in the case. Then a short acknowledgement, paced by the case desk.
        """
        receipt = self.deps.cases.take_user_message(ctx, text)
        if receipt is None:
            return False
        if is_text:
            self.deps.answers.answer_if_confident(ctx, text)
        self.deps.cases.acknowledge(ctx, receipt)
        return True

    def _hand_off(self, ctx: TurnContext, topic: str, priority: str, reason: str) -> None:
        self.deps.cases.open_case(ctx, topic=topic, priority=priority, reason=reason)

    def _delegate_postback(self, ctx: TurnContext, kind: str, value: str) -> None:
        if kind == "case":
            self.deps.cases.on_postback(ctx, value)
        else:
            self.deps.answers.on_postback(ctx, kind, value, self)

    def _answer_from_index(self, ctx: TurnContext, text: str, stored) -> None:
        misses = 0 if self.deps.answers.answer(ctx, text) else stored.misses + 1
        if misses >= MISSES_BEFORE_OFFER:
            ctx.say(text_message(ctx.t("answers.offer_person"), quick_replies=[
                postback_action(ctx.t("menu.person"), "cmd:person"),
                postback_action(ctx.t("menu.main"), "cmd:menu")]))
            misses = 0
        self._offer_language_switch(ctx, text)
        self.deps.store.save(ctx.known_user.line_user_id, stored.state, misses, self.deps.now())

    def _public_only(self, ctx: TurnContext, text: str) -> None:
        """No consent yet: public information from the index only, and the notice again."""
        found = self.deps.answers.answer(ctx, text)
        if not found or ctx.known_user.consent is None:
            ctx.say(self.deps.privacy.notice(ctx, "privacy.reminder"))

    def _offer_language_switch(self, ctx: TurnContext, text: str) -> None:
        """A message clearly in another supported language: offer (never force) a switch.

        Not after the answer to a calm question about danger: LINE shows only the last message's
        buttons, and its call buttons matter more. Easy Japanese users write Japanese."""
        hint = self.deps.language_hint(text)
        if (ctx.outcome or {}).get("kind") == "guide" or (hint == "ja" and ctx.locale == "ja-easy"):
            return
        if hint and hint != ctx.locale:
            ctx.say(text_message(self.catalog.text(hint, "core.switch_offer", language=NATIVE_NAMES[hint]),
                                 quick_replies=[postback_action(NATIVE_NAMES[hint], f"lang:{hint}"),
                                                postback_action(ctx.t("core.keep_language"), "cmd:menu")]))
