"""Inbox pages: login, the case queue (live), a case with translation both ways, accounts, audit."""
from __future__ import annotations

import json
import secrets
from collections import Counter
from datetime import UTC, datetime
from functools import wraps

import redis
from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select

from bot.cases import queue as case_queue
from bot.cases.desk import TOPICS
from bot.content.languages import NATIVE_NAMES
from bot.inbox.auth import (
    AccountError,
    authenticate,
    change_password,
    count_login_failure,
    create_advisor,
    login_failures_exceeded,
    reset_password,
    set_latin_name,
)
from bot.inbox.canned import load_canned_replies
from bot.inbox.labels import reason_label
from bot.inbox.pages import case_extras, page_helpers, sorted_canned, ui_language
from bot.inbox.replies import ReplyService, sender_name
from bot.inbox.sessions import SessionStoreError
from bot.inbox.translations import NO_TRANSLATION_LOCALES, needs_translation
from bot.store.models import Advisor, AuditEntry, Case, CaseNote, Message, User

bp = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates", static_folder="static")
PRIORITIES = ("urgent", "high", "normal")
SLA_MINUTES = {"urgent": (5, 15), "high": (30, 60), "normal": (120, 240)}   # amber after, red after


def utcnow() -> datetime:
    """Now from the services' clock (UTC): stored as is, shown through the `local` filter."""
    return _services().clock.now()


def _services():
    return current_app.extensions["bot.services"]


# ---- session, login and CSRF -----------------------------------------------------------------------
@bp.before_request
def load_advisor_and_check_csrf():
    g.advisor = None
    session_id = session.get("sid")
    if session_id:
        try:
            advisor_id = _services().inbox_sessions.advisor_of(session_id)
        except SessionStoreError:
            abort(503, description="The inbox cannot check your login right now (Redis is not answering). "
                                   "Try again in a minute.")
        if advisor_id is not None:
            g.db = _services().sessions()
            g.advisor = g.db.get(Advisor, advisor_id)
        if g.advisor is None or not g.advisor.active:
            session.clear()
            g.advisor = None
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
        if not sent or not secrets.compare_digest(sent, session.get("csrf_token", "")):
            abort(400, description="The form expired or did not come from this inbox (CSRF check). "
                                   "Reload the page and try again.")


@bp.teardown_request
def close_db(exc):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@bp.app_template_filter("local")
def local_time(moment: datetime | None, pattern: str = "%m/%d %H:%M") -> str:
    """A stored UTC time as advisors in Japan read it (the configured zone)."""
    return _services().clock.local(moment).strftime(pattern) if moment else ""


@bp.app_context_processor
def inject_helpers():
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return {"csrf_token": session["csrf_token"], "advisor": g.get("advisor"), "language_names": NATIVE_NAMES,
            **page_helpers()}


def login_required(role: str | None = None):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("advisor") is None:
                return redirect(url_for("inbox.login", next=request.path))
            if role and g.advisor.role != role:
                abort(403, description="Only admins can open this page.")
            return view(*args, **kwargs)
        return wrapped
    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        services = _services()
        close_db(None)      # logging in again while logged in: SQLite allows one writer at a time
        client_ip = request.remote_addr or "unknown"
        if login_failures_exceeded(services.redis, client_ip):
            error = "Too many failed attempts from this network. Wait a minute."
            return render_template("login.html", error=error), 429
        with services.sessions.begin() as db:
            advisor, error = authenticate(db, request.form.get("email", ""), request.form.get("password", ""), utcnow())
            if advisor:
                case_queue.audit(db, advisor.id, "login", None)
                advisor_id = advisor.id
        if error:
            count_login_failure(services.redis, client_ip)
        else:
            _start_session(advisor_id)
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/inbox/") else url_for("inbox.cases"))
    return render_template("login.html", error=error), (401 if error else 200)


def _start_session(advisor_id: int) -> None:
    session.clear()
    session["sid"] = _services().inbox_sessions.start(advisor_id)
    session["csrf_token"] = secrets.token_urlsafe(32)


@bp.post("/logout")
def logout():
    if session.get("sid"):
        try:
            _services().inbox_sessions.end(session["sid"])
        except SessionStoreError:
            abort(503, description="Logging out needs Redis, which is not answering. Try again in a minute.")
    session.clear()
    return redirect(url_for("inbox.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required()
def password():
    message = None
    if request.method == "POST":
        try:
            change_password(g.advisor, request.form["current"], request.form["new"])
            case_queue.audit(g.db, g.advisor.id, "password.change", f"advisor:{g.advisor.id}")
            g.db.commit()
            # Every other session (a lost phone, a copied cookie) ends; this browser stays logged in.
            _services().inbox_sessions.end_all(g.advisor.id)
            _start_session(g.advisor.id)
            message = "パスワードを変更しました。ほかの端末のログインは終了しました。"
        except AccountError as exc:
            message = str(exc)
    return render_template("password.html", message=message)


# ---- the queue -------------------------------------------------------------------------------------
def _filters() -> dict:
    args = request.args
    return {"status": args.get("status") or None, "priority": args.get("priority") or None,
            "locale": args.get("locale") or None, "topic": args.get("topic") or None,
            "advisor_id": g.advisor.id if args.get("mine") else None, "unassigned": bool(args.get("unassigned")),
            "include_resolved": args.get("status") == "resolved"}


def _case_rows(db, filters: dict) -> list[dict]:
    now = utcnow()
    rows = []
    for case in case_queue.queue(db, **filters):
        created = case.created_at if case.created_at.tzinfo else case.created_at.replace(tzinfo=UTC)
        waiting = int((now - created).total_seconds() // 60)
        amber, red = SLA_MINUTES[case.priority]
        sla = "ok" if case.first_response_at else ("red" if waiting >= red else "amber" if waiting >= amber else "ok")
        user = _user_of(db, case)
        assigned = db.get(Advisor, case.assigned_advisor_id) if case.assigned_advisor_id else None
        rows.append({"id": case.id, "priority": case.priority, "status": case.status, "topic": case.topic,
                     "locale": case.locale, "waiting": waiting, "sla": sla, "name": user.display_name or "—",
                     "assigned": assigned.display_name if assigned else None, "reason": case.reason or "",
                     "reason_label": reason_label(case.reason, ui_language())})
    return rows


@bp.get("/")
@login_required()
def cases():
    from bot.store.delivery_status import pending_deliveries
    filters = _filters()
    return render_template("cases.html", rows=_case_rows(g.db, filters), filters=request.args,
                           topics=TOPICS, priorities=PRIORITIES, statuses=case_queue.STATUSES,
                           pending=pending_deliveries(g.db, utcnow()))


@bp.get("/api/cases")
@login_required()
def cases_json():
    """Polled every few seconds by the case list: new and changed cases appear without a reload."""
    from bot.store.delivery_status import pending_deliveries
    rows = _case_rows(g.db, _filters())
    urgent = sum(1 for r in rows if r["priority"] == "urgent" and r["status"] == "waiting")
    pending = pending_deliveries(g.db, utcnow())
    return jsonify(cases=rows, urgent_waiting=urgent,
                   pending_deliveries={"count": pending.count, "oldest_age_s": pending.oldest_age_s})


# ---- one case ------------------------------------------------------------------------------------------
def _user_of(db, case: Case):
    """The case's user, or a stand-in when the user deleted their data (the case stays as a count)."""
    user = db.get(User, case.user_id) if case.user_id else None
    return user or User(id=None, line_user_id="", display_name="(deleted)", municipality=None)


def _case_or_404(case_id: int) -> Case:
    case = g.db.get(Case, case_id)
    if case is None:
        abort(404, description="No such case (it may have been deleted at the user's request).")
    return case


def _reply_service() -> ReplyService:
    services = _services()
    return ReplyService(g.db, services.preview_translator, utcnow, services.settings.advisor_icon_url,
                        services.content.current().catalog)


def _conversation(case: Case, user: User) -> list[dict]:
    """The last 200 messages; Japanese translations still missing are asked of the worker, not made here."""
    if user.id is None:
        return []
    messages = g.db.scalars(select(Message).where(Message.user_id == user.id)
                            .order_by(Message.id.desc()).limit(200)).all()[::-1]
    missing = [m.id for m in messages if needs_translation(m, case.locale)]
    states = _translation_states(missing, case.locale)
    return [{"id": m.id, "direction": m.direction, "sender": m.sender, "text": m.text, "kind": m.kind,
             "translation": m.translation, "translation_state": states.get(m.id),
             "source_ja": m.translation_source, "status": m.delivery_status, "error": m.delivery_error,
             "time": m.created_at, "advisor": m.advisor_id} for m in messages]


def _translation_states(message_ids: list[int], locale: str) -> dict[int, str]:
    """'pending' or 'failed' per untranslated message, after asking the worker for the new ones."""
    translations = _services().inbox_translations
    try:
        translations.request(message_ids, locale)
        return translations.states(message_ids)
    except redis.RedisError:
        current_app.logger.warning("inbox translations: Redis is not answering; originals shown")
        return {message_id: "failed" for message_id in message_ids}


@bp.get("/cases/<int:case_id>")
@login_required()
def case_view(case_id: int):
    case = _case_or_404(case_id)
    user = _user_of(g.db, case)
    case_queue.audit(g.db, g.advisor.id, "case.view", f"case:{case.id}")
    g.db.commit()
    if user.id is not None:
        _mark_read(user)
    notes = g.db.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)).all()
    advisors = g.db.scalars(select(Advisor).where(Advisor.active.is_(True)).order_by(Advisor.display_name)).all()
    canned = sorted_canned(load_canned_replies(_services().settings.flows_dir), case.topic)
    items = _conversation(case, user)
    total = g.db.scalar(select(func.count()).select_from(Message).where(Message.user_id == user.id)) if user.id else 0
    return render_template("case.html", case=case, user=user, items=items, notes=notes, message_count=total,
                           advisors=advisors, canned=canned, topics=TOPICS, priorities=PRIORITIES,
                           preview=None, needs_translation=case.locale not in NO_TRANSLATION_LOCALES,
                           names={a.id: a.display_name for a in advisors}, **case_extras(g.db, case, items))


@bp.get("/api/cases/<int:case_id>/messages")
@login_required()
def case_messages_count(case_id: int):
    """Polled by an open case page: tells the advisor a new message came in (no reload needed to see it)."""
    case = _case_or_404(case_id)
    if case.user_id is None:
        return jsonify(messages=0, status=case.status)
    count = g.db.scalar(select(func.count()).select_from(Message).where(Message.user_id == case.user_id))
    return jsonify(messages=count, status=case.status)


@bp.get("/api/cases/<int:case_id>/translations")
@login_required()
def case_translations(case_id: int):
    """Polled by an open case page while some messages show 翻訳中…: each one's state, and the text once done."""
    case = _case_or_404(case_id)
    wanted = [int(part) for part in request.args.get("ids", "").split(",")[:200] if part.strip().isdigit()]
    if case.user_id is None or not wanted:
        return jsonify(translations={})
    messages = g.db.scalars(select(Message).where(Message.user_id == case.user_id, Message.id.in_(wanted))).all()
    done = {m.id: {"state": "done", "text": m.translation} for m in messages if m.translation}
    waiting = [m.id for m in messages if m.id not in done]
    try:
        states = _services().inbox_translations.states(waiting)
    except redis.RedisError:
        states = {message_id: "failed" for message_id in waiting}
    return jsonify(translations={**done, **{mid: {"state": state} for mid, state in states.items()}})


def _mark_read(user: User) -> None:
    last = g.db.scalar(select(Message).where(Message.user_id == user.id, Message.direction == "in")
                       .order_by(Message.id.desc()).limit(1))
    token = ((last.payload or {}).get("message") or {}).get("markAsReadToken") if last else None
    if token:
        _services().messenger.mark_as_read(token)


@bp.post("/cases/<int:case_id>/action")
@login_required()
def case_action(case_id: int):
    case = _case_or_404(case_id)
    action, now = request.form.get("action"), utcnow()
    try:
        if action == "claim":
            if not case_queue.claim(g.db, case.id, g.advisor.id, now):
                flash("ほかの相談員が先に担当しました。")
        elif action == "release":
            case_queue.release(g.db, case, g.advisor.id, now)
        elif action == "transfer":
            case_queue.transfer(g.db, case, g.advisor.id, _advisor_id_from_form(), now)
        elif action == "priority":
            case_queue.set_priority(g.db, case, request.form["priority"], g.advisor.id)
        elif action == "topic":
            case_queue.set_topic(g.db, case, request.form["topic"], g.advisor.id)
        elif action == "resolve":
            case_queue.resolve(g.db, case, g.advisor.id, now)
        elif action == "reopen":
            case_queue.reopen(g.db, case, g.advisor.id, now)
        elif action == "note":
            case_queue.add_note(g.db, case, g.advisor.id, request.form.get("note", ""))
        elif action == "assign":
            case_queue.transfer(g.db, case, g.advisor.id, _advisor_id_from_form(), now)
        else:
            abort(400, description=f"Unknown action {action!r}.")
        g.db.commit()
        _announce(case, action)
    except case_queue.UnknownAdvisorError as exc:
        g.db.rollback()
        abort(404, description=str(exc))
    except case_queue.CaseError as exc:
        g.db.rollback()
        flash(str(exc))
    return redirect(url_for("inbox.case_view", case_id=case.id))


def _advisor_id_from_form() -> int:
    raw = request.form.get("to_advisor", "")
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        abort(400, description="Choose an advisor from the list.")
    return int(raw)


def _announce(case: Case, action: str) -> None:
    """Other advisors' open pages learn of the change; an advisor given the case is told."""
    from bot.inbox.live_views import publish_case_change
    if action in ("transfer", "assign"):
        target = _advisor_id_from_form()
        publish_case_change(case, action, g.advisor.id, to_advisor=target if target != g.advisor.id else None)
    elif action != "note":
        publish_case_change(case, action, g.advisor.id)


@bp.post("/cases/<int:case_id>/preview")
@login_required()
def reply_preview(case_id: int):
    case = _case_or_404(case_id)
    text_ja = request.form.get("text", "").strip()
    if not text_ja:
        flash("先に返信を書いてください。")
        return redirect(url_for("inbox.case_view", case_id=case.id))
    preview = _reply_service().preview(case, text_ja)
    user = _user_of(g.db, case)
    notes = g.db.scalars(select(CaseNote).where(CaseNote.case_id == case.id)).all()
    advisors = g.db.scalars(select(Advisor).where(Advisor.active.is_(True))).all()
    items = _conversation(case, user)
    return render_template("case.html", case=case, user=user, items=items, notes=notes,
                           advisors=advisors, canned=[], topics=TOPICS, priorities=PRIORITIES, preview=preview,
                           needs_translation=case.locale not in NO_TRANSLATION_LOCALES,
                           names={a.id: a.display_name for a in advisors}, **case_extras(g.db, case, items))


@bp.post("/cases/<int:case_id>/send")
@login_required()
def reply_send(case_id: int):
    case = _case_or_404(case_id)
    text = request.form.get("final_text", "").strip()
    if case.user_id is None:
        flash("この利用者はデータを削除しました。もうメッセージを送れません。")
        return redirect(url_for("inbox.case_view", case_id=case.id))
    if not text:
        flash("メッセージが空です。")
        return redirect(url_for("inbox.case_view", case_id=case.id))
    if case.assigned_advisor_id is None:
        case_queue.claim(g.db, case.id, g.advisor.id, utcnow())
        g.db.refresh(case)
    rows = _reply_service().send(case, g.advisor, text, request.form.get("source_ja") or None)
    g.db.commit()
    _services().tasks.enqueue("bot.jobs.deliver_messages", [row.id for row in rows])
    _announce(case, "reply")
    return redirect(url_for("inbox.case_view", case_id=case.id))


@bp.post("/cases/<int:case_id>/messages/<int:message_id>/translate")
@login_required()
def retry_translation(case_id: int, message_id: int):
    case = _case_or_404(case_id)
    message = g.db.get(Message, message_id)
    if message is None or message.user_id != case.user_id:
        abort(404)
    if needs_translation(message, case.locale):
        try:
            _services().inbox_translations.request([message.id], case.locale, retry_failed=True)
            flash("翻訳をやり直しています。少し待つと表示されます。")
        except redis.RedisError:
            flash("翻訳を始められませんでした(Redis が応答しません)。原文を表示しています。")
    return redirect(url_for("inbox.case_view", case_id=case.id))


@bp.get("/cases/<int:case_id>/canned/<reply_id>")
@login_required()
def canned_text(case_id: int, reply_id: str):
    case = _case_or_404(case_id)
    user = _user_of(g.db, case)
    reply = next((r for r in load_canned_replies(_services().settings.flows_dir) if r["id"] == reply_id), None)
    if reply is None:
        abort(404)
    text = SandboxedEnvironment().from_string(reply["text"]).render(
        name=user.display_name or "",
        advisor=sender_name(g.advisor, case.locale, _services().content.current().catalog))
    return jsonify(text=text)


# ---- admin: accounts and audit log ------------------------------------------------------------------------
@bp.route("/admin/accounts", methods=["GET", "POST"])
@login_required(role="admin")
def accounts():
    message = None
    if request.method == "POST":
        try:
            message = _account_action(request.form.get("action", "create"))
            g.db.commit()
        except AccountError as exc:
            g.db.rollback()
            message = str(exc)
    people = g.db.scalars(select(Advisor).order_by(Advisor.email)).all()
    return render_template("accounts.html", people=people, message=message)


def _account_action(action: str) -> str:
    if action == "create":
        created = create_advisor(g.db, request.form["email"], request.form["password"], request.form["role"],
                                 request.form.get("display_name"), request.form.get("display_name_latin"))
        case_queue.audit(g.db, g.advisor.id, "account.create", f"advisor:{created.id}", role=created.role)
        return f"Account {created.email} created."
    target = g.db.get(Advisor, request.form.get("advisor_id", type=int) or 0)
    if target is None:
        raise AccountError("no such account")
    if action == "latin_name":
        set_latin_name(target, request.form.get("display_name_latin", ""))
        case_queue.audit(g.db, g.advisor.id, "account.latin_name", f"advisor:{target.id}",
                         name=target.display_name_latin)
        shown = target.display_name_latin or "(the word Advisor in their language)"
        return f"{target.email}: LINE name for parents is now {shown}."
    if action in ("deactivate", "activate"):
        if target.id == g.advisor.id:
            raise AccountError("you cannot deactivate your own account")
        target.active = action == "activate"
        _services().inbox_sessions.end_all(target.id)
        case_queue.audit(g.db, g.advisor.id, f"account.{action}", f"advisor:{target.id}")
        return f"{target.email}: {'active' if target.active else 'deactivated, logged out everywhere'}."
    if action == "reset-password":
        reset_password(target, request.form.get("password", ""))
        _services().inbox_sessions.end_all(target.id)
        case_queue.audit(g.db, g.advisor.id, "account.reset-password", f"advisor:{target.id}")
        return f"{target.email}: new password set, logged out everywhere."
    raise AccountError(f"unknown action {action!r}")


@bp.get("/admin/audit")
@login_required(role="admin")
def audit_log():
    entries = g.db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(500)).all()
    names = {a.id: a.email for a in g.db.scalars(select(Advisor)).all()}
    return render_template("audit.html", entries=entries, names=names)


# ---- admin: dashboard, exports, deletion ------------------------------------------------------------------
@bp.get("/admin/dashboard")
@login_required(role="admin")
def dashboard():
    from bot.inbox.charts import bars, legend, stacked_bars
    from bot.inbox.labels import language_label, topic_label
    from bot.inbox.stats import build_dashboard
    clock = _services().clock
    board = build_dashboard(g.db, clock.today(), zone=clock.zone)
    ui = ui_language()
    day_labels = [d.strftime("%m/%d") for d in board.days]
    week_labels = [w.strftime("%m/%d") for w in board.weeks]
    locales = sorted({loc for c in board.cases_by_day_locale.values() for loc in c})
    topics = sorted({t for c in board.cases_by_day_topic.values() for t in c})
    level_names = {"emergency": "緊急(119・110)", "crisis": "危機(相談窓口)"} if ui == "ja" else \
        {"emergency": "emergency", "crisis": "crisis"}
    by_language = {language_label(loc, ui): [board.cases_by_day_locale.get(d, Counter())[loc] for d in board.days]
                   for loc in locales}
    by_topic = {topic_label(t, ui): [board.cases_by_day_topic.get(d, Counter())[t] for d in board.days] for t in topics}
    by_level = {level_names[lvl]: [board.safety_by_week.get(w, Counter())[lvl] for w in board.weeks]
                for lvl in ("emergency", "crisis")}
    charts = [   # (title, svg, legend, one line saying what is counted)
        ("言語別の相談件数(日ごと)", stacked_bars(day_labels, by_language, "言語別の相談件数", html_legend=True),
         legend(list(by_language)),
         "その日に始まった相談(ケース)の数を、利用者の言語ごとに色分けしています。"),
        ("分野別の相談件数(日ごと)", stacked_bars(day_labels, by_topic, "分野別の相談件数", html_legend=True),
         legend(list(by_topic)),
         "その日に始まった相談の数を、分野(相談員が変更した後の分野)ごとに色分けしています。"),
        ("緊急・危機の件数(週ごと)", stacked_bars(week_labels, by_level, "緊急・危機の件数", html_legend=True),
         legend(list(by_level)),
         "緊急・危機の言葉で始まった相談と、相談の途中で緊急・危機の言葉があった回数の合計です(週は月曜から)。"),
        ("時間帯別の相談件数(日本時間)",
         bars([f"{h:02d}" for h in range(24)], [board.by_hour[h] for h in range(24)], "時間帯別",
              unit="件数", html_legend=True), [],
         "相談が始まった時刻(日本時間)ごとの数です。相談員を多く置く時間帯の目安になります。"),
    ]
    quota = _services().quota.status()
    return render_template("dashboard.html", board=board, charts=charts, week_labels=week_labels, quota=quota,
                           quota_forecast=quota.forecast(utcnow()) if quota else None, zone=_services().clock.zone)


@bp.get("/admin/dashboard.csv")
@login_required(role="admin")
def dashboard_csv():
    import csv
    import io

    from bot.inbox.stats import build_dashboard, dashboard_csv_rows
    clock = _services().clock
    board = build_dashboard(g.db, clock.today(), zone=clock.zone)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(dashboard_csv_rows(board))
    case_queue.audit(g.db, g.advisor.id, "dashboard.export", None)
    g.db.commit()
    return current_app.response_class(buffer.getvalue(), mimetype="text/csv",
                                      headers={"Content-Disposition": "attachment; filename=dashboard.csv"})


def _user_or_404(user_id: int) -> User:
    user = g.db.get(User, user_id)
    if user is None:
        abort(404, description="No such user (their data may already be deleted).")
    return user


@bp.get("/admin/users/<int:user_id>/export")
@login_required(role="admin")
def export_user_data(user_id: int):
    from bot.store.erase import export_user
    user = _user_or_404(user_id)
    data = export_user(g.db, user.line_user_id)
    case_queue.audit(g.db, g.advisor.id, "user.export", f"user:{user_id}")
    g.db.commit()
    return current_app.response_class(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                                      headers={"Content-Disposition": f"attachment; filename=user-{user_id}.json"})


@bp.post("/admin/users/<int:user_id>/delete")
@login_required(role="admin")
def delete_user_data(user_id: int):
    from bot.store.erase import erase_user
    user = _user_or_404(user_id)
    if request.form.get("confirm") != "DELETE":
        flash("確認のため DELETE と入力してください。")
        return redirect(request.referrer or url_for("inbox.cases"))
    counts = erase_user(g.db, user.line_user_id, _services().redis)
    case_queue.audit(g.db, g.advisor.id, "user.delete", f"user:{user_id}", **counts)
    g.db.commit()
    flash(f"削除しました: メッセージ {counts['messages']} 件。ケース {counts['cases']} 件は匿名の件数として残します。")
    return redirect(url_for("inbox.cases"))


# ---- admin: events set aside (dead letters) ---------------------------------------------------------------
@bp.get("/admin/dead-letters")
@login_required(role="admin")
def dead_letters():
    from bot.store.delivery_status import pending_deliveries
    entries = _services().dead_letters.list()
    chats = {e.partition for e in entries}
    users = ({u.line_user_id: u.id for u in g.db.scalars(select(User).where(User.line_user_id.in_(chats)))}
             if chats else {})
    rows = [{"entry": e, "user_id": users.get(e.partition),
             "time": _services().clock.local(datetime.fromtimestamp(e.set_aside_at, tz=UTC))} for e in entries]
    return render_template("dead_letters.html", rows=rows, pending=pending_deliveries(g.db, utcnow()),
                           keep_days=_services().settings.dead_letter_days)


@bp.post("/admin/dead-letters/<entry_id>")
@login_required(role="admin")
def dead_letter_action(entry_id: str):
    services = _services()
    entry = services.dead_letters.get(entry_id)
    if entry is None:
        abort(404, description="No such entry (it may have expired or been handled).")
    action = request.form.get("action")
    if action == "replay":
        services.inbox.replay(entry.event, entry.partition)
    elif action != "drop":
        abort(400, description=f"Unknown action {action!r}.")
    services.dead_letters.drop(entry.id)
    case_queue.audit(g.db, g.advisor.id, f"dead_letter.{action}", f"dead_letter:{entry.id}",
                     event_type=entry.event_type)
    g.db.commit()
    flash("再処理に戻しました。" if action == "replay" else "削除しました。")
    return redirect(url_for("inbox.dead_letters"))
