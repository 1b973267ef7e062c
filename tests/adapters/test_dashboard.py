"""The admin dashboard: figures from generated cases, CSV export, access and audit."""
from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import select

from bot.inbox.stats import build_dashboard, percentile
from bot.store.models import AuditEntry
from tests.support.generated import generate_cases
from tests.support.inbox import csrf, login


def test_percentiles_are_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([5, 1, 3], 0.5) == 3
    assert percentile(list(range(1, 11)), 0.9) == 9


def test_dashboard_figures_from_generated_cases(services):
    generate_cases(services.sessions, 2000)
    with services.sessions() as session:
        board = build_dashboard(session, date.today())
    assert sum(sum(c.values()) for c in board.cases_by_day_locale.values()) <= board.totals["cases"] <= 2000
    assert any(median for median, _ in board.first_response.values())
    assert all(p90 is None or median <= p90 for median, p90 in board.first_response.values())
    assert sum(board.by_hour.values()) == board.totals["cases"]
    assert any(share for share in board.answered_share.values())
    assert board.unanswered and board.unanswered[0]["count"] >= board.unanswered[-1]["count"]


def test_dashboard_page_and_csv_for_admins_only(client, advisor, services):  # noqa: F811
    generate_cases(services.sessions, 300)
    login(client)
    assert client.get("/inbox/admin/dashboard").status_code == 403
    client.post("/inbox/logout", data={"csrf_token": csrf(client.get("/inbox/password").data)})
    login(client, "admin@npo.example")
    page = client.get("/inbox/admin/dashboard")
    assert page.status_code == 200 and page.data.count(b"<svg") == 4
    import re

    from bot.inbox.labels import LANGUAGE, TOPIC
    html = page.get_data(as_text=True)
    legend = re.findall(r'<span class="swatch"[^>]*></span>([^<]*)</li>', html)
    codes = set(LANGUAGE["ja"]) | set(TOPIC["ja"])
    assert len(legend) >= 10 and not [name for name in legend if name.strip() in codes], legend   # no "my", "ne", "living"
    assert {"ベトナム語", "生活", "緊急(119・110)"} <= {name.strip() for name in legend}, legend
    explanations = re.findall(r'<p class="muted explain">([^<]+)', html)
    assert len(explanations) == 6 and all(len(e.strip()) > 15 for e in explanations)   # one line per figure
    rows = list(csv.reader(io.StringIO(client.get("/inbox/admin/dashboard.csv").get_data(as_text=True))))
    assert rows[0] == ["metric", "period", "key", "value"]
    assert {r[0] for r in rows[1:]} >= {"cases_by_language", "first_response_minutes", "answered_by_index_share",
                                        "safety_cases", "cases_by_hour_jst"}
    with services.sessions() as session:
        assert "dashboard.export" in session.scalars(select(AuditEntry.action)).all()
