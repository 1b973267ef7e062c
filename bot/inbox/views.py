"""Inbox pages: login, the case queue (live), a case with translation both ways, accounts, audit."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
from functools import wraps

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select

from bot.cases import queue as case_queue
from bot.cases.desk import TOPICS
from bot.inbox.auth import (AccountError, authenticate, change_password, count_login_failure, create_advisor,
                            login_failures_exceeded, reset_password)
from bot.inbox.sessions import SessionStoreError
from bot.inbox.canned import load_canned_replies
from bot.inbox.replies import NO_TRANSLATION_LOCALES, ReplyService
from bot.languages import NATIVE_NAMES
from bot.store.models import Advisor, AuditEntry, Case, CaseNote, Message, User

bp = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates", static_folder="static")
PRIORITIES = ("urgent", "high", "normal")
HOURS_ZONE = ZoneInfo("Asia/Tokyo")
SLA_MINUTES = {"urgent": (5, 15), "high": (30, 60), "normal": (120, 240)}   # amber after, red after


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
            abort(503, description="The inbox cannot check your login right now (Redis is not answering). Try again in a minute.")
        if advisor_id is not None:
            g.db = _services().sessions()
            g.advisor = g.db.get(Advisor, advisor_id)
        if g.advisor is None or not g.advisor.active:
            session.clear()
            g.advisor = None
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
        if not sent or not secrets.compare_digest(sent, session.get("csrf_token", "")):
            abort(400, description="The form expired or did not come from this inbox (CSRF check). Reload the page and try again.")


@bp.teardown_request
def close_db(exc):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@bp.app_context_processor
def inject_helpers():
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return {"csrf_token": session["csrf_token"], "advisor": g.get("advisor"), "language_names": NATIVE_NAMES}


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
            return render_template("login.html", error="Too many failed attempts from this network. Wait a minute."), 429
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
            message = "Password changed. Other sessions were logged out."
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
        created = case.created_at if case.created_at.tzinfo else case.created_at.replace(tzinfo=timezone.utc)
        waiting = int((now - created).total_seconds() // 60)
        amber, red = SLA_MINUTES[case.priority]
        sla = "ok" if case.first_response_at else ("red" if waiting >= red else "amber" if waiting >= amber else "ok")
        user = _user_of(db, case)
        assigned = db.get(Advisor, case.assigned_advisor_id) if case.assigned_advisor_id else None
        rows.append({"id": case.id, "priority": case.priority, "status": case.status, "topic": case.topic,
                     "locale": case.locale, "waiting": waiting, "sla": sla, "name": user.display_name or "—",
                     "assigned": assigned.display_name if assigned else None, "reason": case.reason or ""})
    return rows


@bp.get("/")
@login_required()
def cases():
    filters = _filters()
    return render_template("cases.html", rows=_case_rows(g.db, filters), filters=request.args,
                           topics=TOPICS, priorities=PRIORITIES, statuses=case_queue.STATUSES)


@bp.get("/api/cases")
@login_required()
def cases_json():
    """Polled every few seconds by the case list: new and changed cases appear without a reload."""
    rows = _case_rows(g.db, _filters())
    urgent = sum(1 for r in rows if r["priority"] == "urgent" and r["status"] == "waiting")
    return jsonify(cases=rows, urgent_waiting=urgent)


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
    return ReplyService(g.db, services.translator, utcnow, services.settings.advisor_icon_url)


def _conversation(case: Case, user: User) -> list[dict]:
    replies = _reply_service()
    if user.id is None:
        return []
    messages = g.db.scalars(select(Message).where(Message.user_id == user.id).order_by(Message.id)).all()
    items = []
    for message in messages[-200:]:
        translation = None
        if message.direction == "in" and message.kind == "text":
            result = replies.translate_inbound(message, case.locale)
            translation = message.translation or (None if result is None else "")
        items.append({"id": message.id, "direction": message.direction, "sender": message.sender, "text": message.text,
                      "kind": message.kind,
                      "translation": translation, "source_ja": message.translation_source,
                      "status": message.delivery_status, "error": message.delivery_error,
                      "time": message.created_at, "advisor": message.advisor_id})
    g.db.commit()
    return items


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
    canned = [r for r in load_canned_replies(_services().settings.flows_dir) if r["topic"] in ("any", case.topic)]
    items = _conversation(case, user)
    total = g.db.scalar(select(func.count()).select_from(Message).where(Message.user_id == user.id)) if user.id else 0
    return render_template("case.html", case=case, user=user, items=items, notes=notes, message_count=total,
                           advisors=advisors, canned=canned, topics=TOPICS, priorities=PRIORITIES,
                           preview=None, needs_translation=case.locale not in NO_TRANSLATION_LOCALES,
                           names={a.id: a.display_name for a in advisors})


@bp.get("/api/cases/<int:case_id>/messages")
@login_required()
def case_messages_count(case_id: int):
    """Polled by an open case page: tells the advisor a new message came in (no reload needed to see it)."""
    case = _case_or_404(case_id)
    if case.user_id is None:
        return jsonify(messages=0, status=case.status)
    count = g.db.scalar(select(func.count()).select_from(Message).where(Message.user_id == case.user_id))
    return jsonify(messages=count, status=case.status)


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
                flash("Another advisor claimed this case first.")
        elif action == "release":
            case_queue.release(g.db, case, g.advisor.id, now)
        elif action == "transfer":
            case_queue.transfer(g.db, case, g.advisor.id, int(request.form["to_advisor"]), now)
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
        else:
            abort(400, description=f"Unknown action {action!r}.")
        g.db.commit()
    except case_queue.CaseError as exc:
        g.db.rollback()
        flash(str(exc))
    return redirect(url_for("inbox.case_view", case_id=case.id))


@bp.post("/cases/<int:case_id>/preview")
@login_required()
def reply_preview(case_id: int):
    case = _case_or_404(case_id)
    text_ja = request.form.get("text", "").strip()
    if not text_ja:
        flash("Write a reply first.")
        return redirect(url_for("inbox.case_view", case_id=case.id))
    preview = _reply_service().preview(case, text_ja)
    user = _user_of(g.db, case)
    notes = g.db.scalars(select(CaseNote).where(CaseNote.case_id == case.id)).all()
    advisors = g.db.scalars(select(Advisor).where(Advisor.active.is_(True))).all()
    return render_template("case.html", case=case, user=user, items=_conversation(case, user), notes=notes,
                           advisors=advisors, canned=[], topics=TOPICS, priorities=PRIORITIES, preview=preview,
                           needs_translation=case.locale not in NO_TRANSLATION_LOCALES,
                           names={a.id: a.display_name for a in advisors})


@bp.post("/cases/<int:case_id>/send")
@login_required()
def reply_send(case_id: int):
    case = _case_or_404(case_id)
    text = request.form.get("final_text", "").strip()
    if case.user_id is None:
        flash("This user deleted their data; the bot can no longer write to them.")
        return redirect(url_for("inbox.case_view", case_id=case.id))
    if not text:
        flash("The message is empty.")
        return redirect(url_for("inbox.case_view", case_id=case.id))
    if case.assigned_advisor_id is None:
        case_queue.claim(g.db, case.id, g.advisor.id, utcnow())
        g.db.refresh(case)
    rows = _reply_service().send(case, g.advisor, text, request.form.get("source_ja") or None)
    g.db.commit()
    _services().tasks.enqueue("bot.jobs.deliver_messages", [row.id for row in rows])
    return redirect(url_for("inbox.case_view", case_id=case.id))


@bp.post("/cases/<int:case_id>/messages/<int:message_id>/translate")
@login_required()
def retry_translation(case_id: int, message_id: int):
    case = _case_or_404(case_id)
    message = g.db.get(Message, message_id)
    if message is None or message.user_id != case.user_id:
        abort(404)
    result = _reply_service().translate_inbound(message, case.locale)
    g.db.commit()
    if result is not None and not result.translated:
        flash("Translation is still not available. The original is shown.")
    return redirect(url_for("inbox.case_view", case_id=case.id))


@bp.get("/cases/<int:case_id>/canned/<reply_id>")
@login_required()
def canned_text(case_id: int, reply_id: str):
    case = _case_or_404(case_id)
    user = _user_of(g.db, case)
    reply = next((r for r in load_canned_replies(_services().settings.flows_dir) if r["id"] == reply_id), None)
    if reply is None:
        abort(404)
    text = SandboxedEnvironment().from_string(reply["text"]).render(name=user.display_name or "", advisor=g.advisor.display_name)
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
                                 request.form.get("display_name"))
        case_queue.audit(g.db, g.advisor.id, "account.create", f"advisor:{created.id}", role=created.role)
        return f"Account {created.email} created."
    target = g.db.get(Advisor, request.form.get("advisor_id", type=int) or 0)
    if target is None:
        raise AccountError("no such account")
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
    from bot.inbox.charts import bars, stacked_bars
    from bot.inbox.stats import build_dashboard
    board = build_dashboard(g.db, datetime.now(timezone.utc).astimezone(HOURS_ZONE).date())
    day_labels = [d.strftime("%m/%d") for d in board.days]
    week_labels = [w.strftime("%m/%d") for w in board.weeks]
    locales = sorted({loc for c in board.cases_by_day_locale.values() for loc in c})
    topics = sorted({t for c in board.cases_by_day_topic.values() for t in c})
    charts = [
        stacked_bars(day_labels, {loc: [board.cases_by_day_locale.get(d, {}).get(loc, 0) for d in board.days] for loc in locales},
                     "Cases per day by language / 言語別の相談件数"),
        stacked_bars(day_labels, {t: [board.cases_by_day_topic.get(d, {}).get(t, 0) for d in board.days] for t in topics},
                     "Cases per day by topic / 分野別の相談件数"),
        stacked_bars(week_labels, {lvl: [board.safety_by_week.get(w, {}).get(lvl, 0) for w in board.weeks] for lvl in ("emergency", "crisis")},
                     "Emergencies and crises per week / 緊急・危機の件数(週)"),
        bars([f"{h:02d}" for h in range(24)], [board.by_hour[h] for h in range(24)], "Busiest hours (Japan time) / 時間帯別"),
    ]
    quota = _services().quota.status()
    return render_template("dashboard.html", board=board, charts=charts, week_labels=week_labels, quota=quota,
                           quota_forecast=quota.forecast(utcnow()) if quota else None, zone=HOURS_ZONE)


@bp.get("/admin/dashboard.csv")
@login_required(role="admin")
def dashboard_csv():
    import csv
    import io
    from bot.inbox.stats import build_dashboard, dashboard_csv_rows
    board = build_dashboard(g.db, datetime.now(timezone.utc).astimezone(HOURS_ZONE).date())
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
        flash("Type DELETE to confirm.")
        return redirect(request.referrer or url_for("inbox.cases"))
    counts = erase_user(g.db, user.line_user_id, _services().redis)
    case_queue.audit(g.db, g.advisor.id, "user.delete", f"user:{user_id}", **counts)
    g.db.commit()
    flash(f"Deleted: {counts['messages']} messages; {counts['cases']} cases kept as anonymous counts.")
    return redirect(url_for("inbox.cases"))
