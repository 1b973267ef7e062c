"""Machine translations of an announcement and their back-translations, made in a worker job.

The inbox never waits for the Translation API: it asks for this job and shows 翻訳中… until the
rows are filled in. The back-translation (the translation turned back into Japanese) is how an
admin who does not read Nepali can still see whether the meaning survived.
"""
from __future__ import annotations

import logging

from bot.announce.drafts import translations
from bot.ports import Translator
from bot.store.announcements import Announcement

log = logging.getLogger(__name__)
JOB = "bot.announce.jobs.translate_announcement"


def translate_announcement(sessions, translator: Translator, announcement_id: int, locales: list[str],
                           back_only: bool = False) -> int:
    """Translate into each locale (or, `back_only`, back-translate the admin's edited text); returns how many were done.

    API calls happen outside any transaction; each locale is stored as soon as it is done.
    """
    with sessions() as session:
        announcement = session.get(Announcement, announcement_id)
        if announcement is None:
            return 0
        body = announcement.body_ja
        current = {locale: row.text for locale, row in translations(session, announcement_id).items()}
    done = 0
    for locale in locales:
        if locale not in current:
            continue
        done += _translate_one(sessions, translator, announcement_id, locale, body, current[locale], back_only)
    return done


def _translate_one(sessions, translator: Translator, announcement_id: int, locale: str, body: str,
                   current_text: str | None, back_only: bool) -> int:
    if back_only:
        machine = None
        target_text = current_text
    else:
        result = translator.translate(body, target=locale, source="ja")
        if not result.translated:
            _store(sessions, announcement_id, locale, failed=result.error or "translation failed")
            return 0
        machine = target_text = result.text
    if not target_text:
        return 0
    back = translator.translate(target_text, target="ja", source=locale)
    _store(sessions, announcement_id, locale, machine=machine,
           back=back.text if back.translated else None, back_error=None if back.translated else back.error)
    return 1


def _store(sessions, announcement_id: int, locale: str, machine: str | None = None, back: str | None = None,
           back_error: str | None = None, failed: str | None = None) -> None:
    from bot.announce.drafts import translation_of
    from bot.store.announcements import EDITABLE_STATUSES
    with sessions.begin() as session:
        row = translation_of(session, announcement_id, locale)
        announcement = session.get(Announcement, announcement_id)
        if row is None or announcement.status not in EDITABLE_STATUSES:
            return              # a late job must not change what is being (or was) sent
        if failed:
            row.state, row.error = ("failed", failed) if not row.edited else (row.state, failed)
            log.warning("announcement translation to %s failed: %s", locale, failed)
            return
        if machine is not None:
            row.machine_text = machine
            if not row.edited:              # an admin's own wording is never overwritten
                row.text, row.reviewed = machine, False
        row.back_translation = back
        row.state, row.error = "done", (f"逆翻訳できませんでした: {back_error}" if back_error else None)
