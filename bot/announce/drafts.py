"""Writing an announcement: the draft, its translations and review, the segment, and the send order.

Every change an admin makes goes through here and leaves an audit entry. The Japanese original
goes to `ja` as written; Easy Japanese is never machine-made (the guideline needs a person), so
it starts empty for an admin to write; every other chosen language gets a machine translation
with its back-translation, to be reviewed (and edited) before it may be sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import LOCALES
from bot.announce.segment import Segment
from bot.cases.queue import audit
from bot.store.announcements import (
    EDITABLE_STATUSES,
    Announcement,
    AnnouncementTranslation,
)

MACHINE_TRANSLATED = tuple(locale for locale in LOCALES if locale not in {"ja", "ja-easy"})
MAX_TEXT_CHARS = 4500        # LINE's text limit is 5,000 UTF-16 units; the heading takes the rest


class AnnouncementError(ValueError):
    """What an admin asked cannot be done as asked; the message says why, in Japanese."""


@dataclass(frozen=True)
class Readiness:
    ready: tuple[str, ...]              # chosen, not excluded, with a reviewed text
    unreviewed: tuple[str, ...]         # chosen, not excluded, no reviewed text yet: sending is refused

    @property
    def can_send(self) -> bool:
        return bool(self.ready) and not self.unreviewed


def create_draft(session: Session, author_id: int, title: str, body_ja: str, segment: Segment) -> Announcement:
    title, body_ja = title.strip(), body_ja.strip()
    if not title or not body_ja:
        raise AnnouncementError("件名と本文(日本語)を入れてください。")
    _check_length(body_ja)
    announcement = Announcement(title=title[:200], body_ja=body_ja, segment=segment.to_dict(),
                                excluded_locales=[], status="draft", author_id=author_id)
    session.add(announcement)
    session.flush()
    _ensure_translation_rows(session, announcement)
    audit(session, author_id, "announce.create", f"announcement:{announcement.id}", locales=list(segment.locales))
    return announcement


def set_segment(session: Session, announcement: Announcement, advisor_id: int, segment: Segment,
                excluded: list[str]) -> list[str]:
    """Change the languages, municipalities, age bands and exclusions; returns languages newly needing a translation."""
    _require_editable(announcement)
    announcement.segment = segment.to_dict()
    announcement.excluded_locales = sorted(set(excluded) & set(segment.locales))
    added = _ensure_translation_rows(session, announcement)
    audit(session, advisor_id, "announce.segment", f"announcement:{announcement.id}", **announcement.segment,
          excluded=announcement.excluded_locales)
    return added


def translation_of(session: Session, announcement_id: int, locale: str) -> AnnouncementTranslation | None:
    return session.scalar(select(AnnouncementTranslation).where(
        AnnouncementTranslation.announcement_id == announcement_id, AnnouncementTranslation.locale == locale))


def translations(session: Session, announcement_id: int) -> dict[str, AnnouncementTranslation]:
    rows = session.scalars(select(AnnouncementTranslation)
                           .where(AnnouncementTranslation.announcement_id == announcement_id)).all()
    return {row.locale: row for row in rows}


def edit_translation(session: Session, announcement: Announcement, locale: str, advisor_id: int, text: str) -> None:
    """An admin's own wording: it replaces the machine's and needs a (new) review."""
    _require_editable(announcement)
    row = _row(session, announcement, locale)
    text = text.strip()
    if not text:
        raise AnnouncementError("訳文が空です。")
    _check_length(text)
    row.text, row.edited, row.reviewed, row.reviewed_by, row.reviewed_at = text, True, False, None, None
    row.back_translation = None
    if row.state != "done":
        row.state = "manual"
    audit(session, advisor_id, "announce.edit", f"announcement:{announcement.id}", locale=locale)


def forget_edit(session: Session, announcement: Announcement, locale: str, advisor_id: int) -> None:
    """"Translate again": the admin's wording gives way to a fresh machine translation (to review again)."""
    _require_editable(announcement)
    row = _row(session, announcement, locale)
    row.edited, row.reviewed, row.reviewed_by, row.reviewed_at, row.state = False, False, None, None, "pending"
    audit(session, advisor_id, "announce.retranslate", f"announcement:{announcement.id}", locale=locale)


def mark_reviewed(session: Session, announcement: Announcement, locale: str, advisor_id: int, now: datetime) -> None:
    _require_editable(announcement)
    row = _row(session, announcement, locale)
    if not row.text:
        raise AnnouncementError("訳文がまだありません。翻訳を待つか、訳文を書いてください。")
    row.reviewed, row.reviewed_by, row.reviewed_at = True, advisor_id, now
    audit(session, advisor_id, "announce.review", f"announcement:{announcement.id}", locale=locale)


def readiness(session: Session, announcement: Announcement) -> Readiness:
    segment = Segment.from_dict(announcement.segment)
    chosen = [locale for locale in segment.locales if locale not in (announcement.excluded_locales or [])]
    rows = translations(session, announcement.id)
    reviewed = {locale for locale, row in rows.items() if row.reviewed and row.text}
    ready = tuple(locale for locale in chosen if locale == "ja" or locale in reviewed)
    return Readiness(ready, tuple(locale for locale in chosen if locale not in ready))


def text_for(announcement: Announcement, rows: dict[str, AnnouncementTranslation], locale: str) -> str:
    return announcement.body_ja if locale == "ja" else rows[locale].text or ""


def schedule(session: Session, announcement: Announcement, advisor_id: int, when: datetime, now: datetime) -> None:
    """Send at `when` (now or later): refused while a chosen language has no reviewed text."""
    _require_editable(announcement)
    ready = readiness(session, announcement)
    if ready.unreviewed:
        raise AnnouncementError("確認済みの訳文がない言語があります: " + "、".join(ready.unreviewed)
                                + "。確認するか、「この言語を送らない」にしてください。")
    if not ready.ready:
        raise AnnouncementError("送る言語がありません。")
    when = max(when, now)
    announcement.status, announcement.scheduled_at = "scheduled", when
    audit(session, advisor_id, "announce.schedule", f"announcement:{announcement.id}",
          at=when.isoformat(), locales=list(ready.ready))


def cancel(session: Session, announcement: Announcement, advisor_id: int) -> None:
    if announcement.status != "scheduled":
        raise AnnouncementError("予約中のお知らせだけ取り消せます。")
    announcement.status, announcement.scheduled_at = "draft", None
    audit(session, advisor_id, "announce.cancel", f"announcement:{announcement.id}")


def resume(session: Session, announcement: Announcement, advisor_id: int) -> None:
    """After LINE's monthly limit stopped a send (plan raised, or a new month): send the rest."""
    from bot.announce.sending import reopen_stopped_batches
    if announcement.status != "stopped":
        raise AnnouncementError("止まったお知らせだけ再開できます。")
    reopen_stopped_batches(session, announcement.id)
    announcement.status, announcement.stop_reason = "sending", None
    audit(session, advisor_id, "announce.resume", f"announcement:{announcement.id}")


def _ensure_translation_rows(session: Session, announcement: Announcement) -> list[str]:
    """A row for each chosen language but ja; returns those needing a machine translation."""
    existing = translations(session, announcement.id)
    added = []
    for locale in Segment.from_dict(announcement.segment).locales:
        if locale == "ja" or locale in existing:
            continue
        state = "pending" if locale in MACHINE_TRANSLATED else "manual"
        session.add(AnnouncementTranslation(announcement_id=announcement.id, locale=locale, state=state,
                                            edited=False, reviewed=False))
        if state == "pending":
            added.append(locale)
    session.flush()
    return added


def _row(session: Session, announcement: Announcement, locale: str) -> AnnouncementTranslation:
    row = translation_of(session, announcement.id, locale)
    if row is None:
        raise AnnouncementError("この言語は対象に入っていません。")
    return row


def _require_editable(announcement: Announcement) -> None:
    if announcement.status not in EDITABLE_STATUSES:
        raise AnnouncementError("送信を始めたお知らせは変更できません。")


def _check_length(text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise AnnouncementError(f"長すぎます({len(text)}文字)。{MAX_TEXT_CHARS}文字以内にしてください。")
