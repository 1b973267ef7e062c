"""Admin pages for announcements: write in Japanese, review translations, choose who, send or schedule.

Routes join the inbox blueprint (CSRF, sessions and the admin check are the inbox's own). Every
change is audited in bot/announce/drafts.py; the send itself runs in a worker job.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import LOCALES
from bot.announce import drafts
from bot.announce.drafts import AnnouncementError
from bot.announce.jobs import AnnouncementQueue
from bot.announce.segment import Segment, SegmentError, municipalities_known
from bot.announce.sending import delivery_report, planned_recipients
from bot.announce.wiring import audience
from bot.inbox.pages import ui_language
from bot.inbox.views import _services, bp, login_required, utcnow
from bot.reminders.age_bands import AGE_BANDS
from bot.store.announcements import Announcement, AnnouncementBatch

T = TypeVar("T")

STATUS_LABELS = {
    "ja": {"draft": "下書き", "scheduled": "予約済み", "sending": "送信中", "sent": "送信済み",
           "stopped": "停止(月の上限)"},
    "en": {"draft": "Draft", "scheduled": "Scheduled", "sending": "Sending", "sent": "Sent",
           "stopped": "Stopped (monthly limit)"},
}
AGE_BAND_LABELS = {"pregnant": "妊娠中", "0-1": "0〜1歳", "1-3": "1〜3歳", "3-6": "3〜6歳"}
TRANSLATION_STATES = {"pending": "翻訳中…", "done": "機械翻訳", "failed": "翻訳できませんでした",
                      "manual": "手で書く言語"}


def _queue() -> AnnouncementQueue:
    return AnnouncementQueue(_services().redis)


def _segment_from_form() -> Segment:
    locales = tuple(locale for locale in LOCALES if locale in request.form.getlist("locales"))
    municipalities = tuple(m.strip() for m in request.form.getlist("municipalities") if m.strip())
    age_bands = tuple(band for band in AGE_BANDS if band in request.form.getlist("age_bands"))
    return Segment(locales, municipalities, age_bands)


def _announcement(announcement_id: int) -> Announcement:
    announcement = g.db.get(Announcement, announcement_id)
    if announcement is None:
        abort(404)
    return announcement


@bp.app_template_filter("announce_status")
def announce_status(code: str) -> str:
    return STATUS_LABELS.get(ui_language(), STATUS_LABELS["ja"]).get(code, code)


@bp.route("/admin/announcements", methods=["GET", "POST"])
@login_required(role="admin")
def announcements():
    if request.method == "POST":
        segment = _segment_from_form()
        try:
            if not segment.locales:
                raise AnnouncementError("送る言語を1つ以上えらんでください。")
            announcement = drafts.create_draft(g.db, g.advisor.id, request.form.get("title", ""),
                                               request.form.get("body_ja", ""), segment)
            wanted = [locale for locale in segment.locales if locale in drafts.MACHINE_TRANSLATED]
            g.db.commit()
        except AnnouncementError as exc:
            g.db.rollback()
            flash(str(exc))
            return _list_page(request.form), 400
        if wanted:
            _queue().translate(announcement.id, wanted)
        return redirect(url_for("inbox.announcement", announcement_id=announcement.id))
    return _list_page({})


def _list_page(form):
    rows = g.db.scalars(select(Announcement).order_by(Announcement.created_at.desc()).limit(100)).all()
    return render_template("announce_list.html", rows=rows, locales=LOCALES, form=form,
                           municipalities=municipalities_known(g.db))


@bp.get("/admin/announcements/<int:announcement_id>")
@login_required(role="admin")
def announcement(announcement_id: int):
    item = _announcement(announcement_id)
    segment = Segment.from_dict(item.segment)
    ready = drafts.readiness(g.db, item)
    try:
        counts = audience(_services()).counts(g.db, segment, ready.ready + ready.unreviewed) if segment.locales else {}
        segment_error = None
    except SegmentError as exc:
        counts, segment_error = {}, str(exc)
    will_send = sum(counts.get(locale, 0) for locale in ready.ready)
    quota = _services().quota.status()
    batches = g.db.scalar(select(func.count()).select_from(AnnouncementBatch)
                          .where(AnnouncementBatch.announcement_id == item.id))
    return render_template(
        "announce_detail.html", item=item, segment=segment, ready=ready, counts=counts, will_send=will_send,
        segment_error=segment_error, quota=quota, quota_left=None if not quota or quota.limit is None
        else max(quota.limit - quota.used, 0), translations=drafts.translations(g.db, item.id), locales=LOCALES,
        municipalities=sorted(set(municipalities_known(g.db)) | set(segment.municipalities)),
        report=delivery_report(g.db, item.id) if batches else {}, planned=planned_recipients(g.db, item.id),
        states=TRANSLATION_STATES, age_band_labels=AGE_BAND_LABELS,
        now_local=_services().clock.local(utcnow()).strftime("%Y-%m-%dT%H:%M"))


def _back(announcement_id: int):
    return redirect(url_for("inbox.announcement", announcement_id=announcement_id))


def _apply(announcement_id: int, change: Callable[[Announcement], T]) -> T | None:
    """Run one change in the request's transaction; an AnnouncementError becomes a flash message
    and the result is None."""
    outcome = _run(announcement_id, change)
    return outcome[1] if outcome else None


def _applied(announcement_id: int, change: Callable[[Announcement], None]) -> bool:
    """Like _apply, for changes that return nothing: whether the change was made."""
    return _run(announcement_id, change) is not None


def _run(announcement_id: int, change: Callable[[Announcement], T]) -> tuple[bool, T] | None:
    item = _announcement(announcement_id)
    try:
        result = change(item)
        g.db.commit()
        return True, result
    except AnnouncementError as exc:
        g.db.rollback()
        flash(str(exc))
        return None


@bp.post("/admin/announcements/<int:announcement_id>/segment")
@login_required(role="admin")
def announcement_segment(announcement_id: int):
    segment = _segment_from_form()
    if not segment.locales:
        flash("送る言語を1つ以上えらんでください。")
        return _back(announcement_id)
    added = _apply(announcement_id, lambda item: drafts.set_segment(
        g.db, item, g.advisor.id, segment, request.form.getlist("excluded")))
    if added:
        _queue().translate(announcement_id, added)
    return _back(announcement_id)


@bp.post("/admin/announcements/<int:announcement_id>/translations/<locale>")
@login_required(role="admin")
def announcement_translation(announcement_id: int, locale: str):
    action = request.form.get("action")
    if locale not in LOCALES:
        abort(404)
    if action == "save":
        saved = _applied(announcement_id, lambda item: drafts.edit_translation(
            g.db, item, locale, g.advisor.id, request.form.get("text", "")))
        if saved and locale in drafts.MACHINE_TRANSLATED:
            _queue().translate(announcement_id, [locale], back_only=True)     # what does the new wording say?
    elif action == "review":
        _apply(announcement_id, lambda item: drafts.mark_reviewed(g.db, item, locale, g.advisor.id, utcnow()))
    elif action in {"exclude", "include"}:
        def toggle(item):
            excluded = set(item.excluded_locales or [])
            excluded = excluded | {locale} if action == "exclude" else excluded - {locale}
            drafts.set_segment(g.db, item, g.advisor.id, Segment.from_dict(item.segment), sorted(excluded))
        _apply(announcement_id, toggle)
    elif action == "retranslate" and locale in drafts.MACHINE_TRANSLATED:
        if _applied(announcement_id, lambda item: drafts.forget_edit(g.db, item, locale, g.advisor.id)):
            _queue().translate(announcement_id, [locale])
    else:
        abort(400)
    return redirect(url_for("inbox.announcement", announcement_id=announcement_id) + f"#tr-{locale}")


@bp.post("/admin/announcements/<int:announcement_id>/send")
@login_required(role="admin")
def announcement_send(announcement_id: int):
    now = utcnow()
    when = now
    if request.form.get("mode") == "schedule":
        try:
            local = datetime.strptime(request.form.get("at", ""), "%Y-%m-%dT%H:%M")
        except ValueError:
            flash("日時を正しく入れてください。")
            return _back(announcement_id)
        when = local.replace(tzinfo=_services().clock.zone).astimezone(UTC)
        if when <= now:
            flash("予約の日時が過ぎています。")
            return _back(announcement_id)
    if _applied(announcement_id, lambda item: drafts.schedule(g.db, item, g.advisor.id, when, now)):
        if when <= now:
            _queue().send_now(announcement_id)
            flash("送信を始めました。")
        else:
            _queue().send_at(announcement_id, when)
            flash("予約しました。")
    return _back(announcement_id)


@bp.post("/admin/announcements/<int:announcement_id>/cancel")
@login_required(role="admin")
def announcement_cancel(announcement_id: int):
    if _applied(announcement_id, lambda item: drafts.cancel(g.db, item, g.advisor.id)):
        _queue().cancel(announcement_id)
        flash("予約を取り消しました。下書きに戻りました。")
    return _back(announcement_id)


@bp.post("/admin/announcements/<int:announcement_id>/resume")
@login_required(role="admin")
def announcement_resume(announcement_id: int):
    if _applied(announcement_id, lambda item: drafts.resume(g.db, item, g.advisor.id)):
        _queue().send_now(announcement_id)
        flash("残りの送信を再開しました。")
    return _back(announcement_id)
