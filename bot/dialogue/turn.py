"""TurnContext: what a handler may use while it handles one LINE event.

Handlers see only this object (and the pure domain modules), never Flask, Redis, RQ,
SQLAlchemy or the LINE SDK: the dispatcher builds it from the ports.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TypedDict, overload

from bot.content.i18n import FALLBACK_LOCALE, Catalog
from bot.dialogue.messages import text_message
from bot.ports import Messenger, Profile

if TYPE_CHECKING:
    from bot.cases.desk import CaseDesk
    from bot.dialogue.conversation import Conversation
    from bot.reminders.desk import ReminderDesk


class TurnServices(TypedDict, total=False):
    """The domain services of one turn (bot/domain.py builds them with the turn's session)."""
    conversation: Conversation
    cases: CaseDesk
    reminders: ReminderDesk


@dataclass
class UserState:
    """The user as handlers see it; the dispatcher saves changes back to the database."""
    line_user_id: str
    locale: str | None = None
    locale_chosen: bool = False
    display_name: str | None = None
    profile_language: str | None = None
    municipality: str | None = None
    blocked: bool = False
    consent: bool | None = None      # None: not asked yet; False: declined the privacy notice
    is_new: bool = False


@dataclass
class TurnContext:
    event: dict
    user: UserState | None
    catalog: Catalog
    messenger: Messenger
    default_locale: str = FALLBACK_LOCALE
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    outgoing: list[dict] = field(default_factory=list)
    services: TurnServices = field(default_factory=lambda: TurnServices())
    after_commit: list[Callable[[], None]] = field(default_factory=list)  # e.g. notify advisors
    outcome: dict | None = None      # what the turn decided (answer, suggest, handoff...): eval and stats

    @property
    def locale(self) -> str:
        return (self.user.locale if self.user and self.user.locale else None) or self.default_locale

    @property
    def known_user(self) -> UserState:
        """The turn's user, for code that runs only once a handler has checked there is one."""
        if self.user is None:
            raise LookupError("this event has no user (no source.userId)")
        return self.user

    def t(self, key: str, **variables) -> str:
        return self.catalog.text(self.locale, key, **variables)

    def say(self, *messages: dict | str) -> None:
        for message in messages:
            self.outgoing.append(text_message(message) if isinstance(message, str) else message)

    def fetch_profile(self) -> Profile | None:
        if not self.user:
            return None
        return self.messenger.get_profile(self.user.line_user_id)

    @overload
    def service(self, name: Literal["conversation"]) -> Conversation: ...
    @overload
    def service(self, name: Literal["cases"]) -> CaseDesk: ...
    @overload
    def service(self, name: Literal["reminders"]) -> ReminderDesk: ...

    def service(self, name: Literal["conversation", "cases", "reminders"]) -> Conversation | CaseDesk | ReminderDesk:
        """A domain service of this turn; every turn the worker or the offline tools run has both."""
        return self.services[name]
