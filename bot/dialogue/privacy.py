"""Consent and "delete my data": what the bot keeps, and the user's control over it.

Until a user agrees to the privacy notice, nothing but their language is kept: their messages
are stored without text, no case is opened, and the bot offers only emergency numbers and
public information from the index.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.content.i18n import Catalog
from bot.dialogue.messages import postback_action, text_message
from bot.dialogue.turn import TurnContext
from bot.ports import TaskQueue

if TYPE_CHECKING:
    from bot.dialogue.conversation import Conversation


class PrivacyDesk:
    def __init__(self, catalog: Catalog, tasks: TaskQueue | None = None, retention_days: int = 365):
        self._catalog = catalog
        self._days = retention_days
        self._tasks = tasks                      # TaskQueue port; erasure runs as a job after this turn

    def notice(self, ctx: TurnContext, key: str = "privacy.notice") -> dict:
        # The last message's quick replies are the only ones LINE shows, so the notice also
        # carries the language button the welcome would otherwise offer.
        return text_message(ctx.t(key, days=self._days), quick_replies=[
            postback_action(ctx.t("privacy.agree"), "privacy:agree"),
            postback_action(ctx.t("privacy.read_more"), "privacy:more"),
            postback_action(ctx.t("privacy.no_thanks"), "privacy:decline"),
            postback_action("🌐 " + ctx.t("menu.language"), "cmd:language")])

    def ask_delete(self, ctx: TurnContext) -> None:
        ctx.say(text_message(ctx.t("privacy.delete_confirm"), quick_replies=[
            postback_action(ctx.t("privacy.delete_yes"), "privacy:delete"),
            postback_action(ctx.t("privacy.delete_no"), "cmd:menu")]))

    def on_postback(self, ctx: TurnContext, value: str, conversation: Conversation) -> None:
        if value == "agree":
            ctx.known_user.consent = True
            ctx.say(ctx.t("privacy.thanks"))
            conversation.after_consent(ctx)
        elif value == "more":
            ctx.say(self.notice(ctx, "privacy.details"))
        elif value == "decline":
            ctx.known_user.consent = False
            ctx.say(text_message(ctx.t("privacy.declined"), quick_replies=[
                postback_action(ctx.t("privacy.agree"), "privacy:agree")]))
        elif value == "delete":
            self._delete(ctx)

    def _delete(self, ctx: TurnContext) -> None:
        # Erased after this turn is committed, by a job that then tells the user it is done:
        # deleting inside the turn would also delete the turn's own reply before it is sent.
        ctx.say(ctx.t("privacy.deleting"))
        tasks = self._tasks
        if tasks is not None:
            user_id, locale = ctx.known_user.line_user_id, ctx.locale
            ctx.after_commit.append(lambda: tasks.enqueue("bot.jobs.erase_user_data", user_id, locale))
