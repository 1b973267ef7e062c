"""Advisor replies: preview the translation and its back-translation, then send by push.

The preview is the one translation made inside a web request (the advisor waits for it): it
uses a translator with a short timeout, and a failure offers "try again" or "send as is".
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.cases.queue import audit, record_advisor_reply
from bot.content.i18n import Catalog
from bot.dialogue.messages import text_message
from bot.inbox.translations import NO_TRANSLATION_LOCALES  # advisors write Japanese (Easy Japanese for ja-easy)
from bot.ports import Translation, Translator
from bot.store.models import Advisor, Case, Message
from bot.store.users import record_outbound

SENDER_NAME_MAX = 20                            # LINE's limit for sender.name


def sender_name(advisor: Advisor, locale: str, catalog: Catalog | None) -> str:
    """The advisor's name as the parent can read it: kanji only for Japanese readers.

    Others see the advisor's Latin-script name if the admin set one, else "Advisor" in their
    own language (locales: desk.advisor). Easy Japanese readers are not Japanese either.
    """
    if locale == "ja":
        return advisor.display_name[:SENDER_NAME_MAX]
    if advisor.display_name_latin:
        return advisor.display_name_latin[:SENDER_NAME_MAX]
    if catalog is None:
        raise ValueError("naming an advisor to a parent needs the catalog")
    return catalog.text(locale, "desk.advisor")[:SENDER_NAME_MAX]


@dataclass(frozen=True)
class ReplyPreview:
    source_ja: str
    translated: str
    back_translation: str
    ok: bool
    error: str | None
    target: str


class ReplyService:
    def __init__(self, session: Session, translator: Translator, now: Callable[[], datetime], sender_icon_url: str = "",
                 catalog: Catalog | None = None):
        self._session = session
        self._catalog = catalog
        self._translator = translator
        self._now = now
        self._icon = sender_icon_url

    def preview(self, case: Case, text_ja: str) -> ReplyPreview:
        if case.locale in NO_TRANSLATION_LOCALES:
            return ReplyPreview(text_ja, text_ja, text_ja, True, None, case.locale)
        forward: Translation = self._translator.translate(text_ja, target=case.locale, source="ja")
        if not forward.translated:
            return ReplyPreview(text_ja, text_ja, "", False, forward.error, case.locale)
        back: Translation = self._translator.translate(forward.text, target="ja", source=case.locale)
        return ReplyPreview(text_ja, forward.text, back.text if back.translated else "", True, back.error, case.locale)

    def send(self, case: Case, advisor: Advisor, text: str, source_ja: str | None) -> list[Message]:
        """Store the reply as pending; the caller enqueues its delivery after commit."""
        sender = {"name": sender_name(advisor, case.locale, self._catalog)}
        if self._icon:
            sender["iconUrl"] = self._icon
        assert case.user_id is not None, "a case whose user erased their data takes no replies"
        rows = record_outbound(self._session, case.user_id, [text_message(text.strip(), sender=sender)],
                               event_id=None, sender="advisor", key_seed=f"advisor-{uuid.uuid4()}")
        for row in rows:
            row.advisor_id = advisor.id
            row.translation_source = source_ja if source_ja and source_ja != text else None
        record_advisor_reply(case, self._now())
        audit(self._session, advisor.id, "case.reply", f"case:{case.id}",
              translated=bool(source_ja and source_ja != text))
        self._session.flush()
        return rows
