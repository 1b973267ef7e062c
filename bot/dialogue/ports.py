"""Ports inside a conversation turn: what `Conversation` needs from its collaborators.

Each is a small protocol; the real classes (bot/cases/desk.py, bot/dialogue/safety.py, bot/dialogue/answering.py,
bot/dialogue/privacy.py, bot/store/conversations.py) satisfy them structurally, and bot/domain.py wires
them together for every turn.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.cases.desk import Receipt
    from bot.dialogue.conversation import Conversation
    from bot.dialogue.triage import TriageResult
    from bot.dialogue.turn import TurnContext
    from bot.flows.engine import FlowState
    from bot.store.conversations import StoredConversation
    from bot.store.models import Case

# Entry ids and a locale (and the user's municipality) -> LINE messages showing those entries.
RenderEntries = Callable[..., list[dict]]


class ConversationStore(Protocol):
    """Where a user's flow position and missed-answer count live between turns."""
    def load(self, line_user_id: str) -> StoredConversation: ...
    def save(self, line_user_id: str, state: FlowState, misses: int, now: datetime) -> None: ...


class Cases(Protocol):
    """The advisors' desk: opens cases, takes a parent's messages while one is open."""
    def open_case(self, ctx: TurnContext, topic: str, priority: str, reason: str,
                  announce: bool = True) -> Case: ...
    def take_user_message(self, ctx: TurnContext, text: str) -> Receipt | None: ...
    def acknowledge(self, ctx: TurnContext, receipt: Receipt) -> None: ...
    def leave_case(self, ctx: TurnContext) -> bool: ...
    def on_postback(self, ctx: TurnContext, value: str) -> None: ...


class Safety(Protocol):
    """Emergency and crisis first: True when the message was answered as one."""
    def respond(self, ctx: TurnContext, text: str) -> bool: ...


class Answers(Protocol):
    """The resource index as answers, suggestions and feedback buttons."""
    def answer(self, ctx: TurnContext, text: str) -> bool: ...
    def answer_if_confident(self, ctx: TurnContext, text: str) -> bool: ...
    def on_postback(self, ctx: TurnContext, kind: str, value: str, conversation: Conversation) -> None: ...
    def render_entries(self, ids: list[str], locale: str, municipality: str | None = None) -> list[dict]: ...


class Privacy(Protocol):
    """The privacy notice, consent and 'delete my data'."""
    def notice(self, ctx: TurnContext, key: str = "privacy.notice") -> dict: ...
    def ask_delete(self, ctx: TurnContext) -> None: ...
    def on_postback(self, ctx: TurnContext, value: str, conversation: Conversation) -> None: ...


# A message -> the triage result of the shared assessment (rules, classifier, translation net).
Assess = Callable[[str], "TriageResult"]
# Text -> the locale it is clearly written in, or None.
LanguageHint = Callable[[str], "str | None"]
