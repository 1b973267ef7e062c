"""What advisors read outside the inbox (e-mail, chat webhooks) uses the inbox's Japanese words."""
from __future__ import annotations


def test_advisor_notices_are_in_japanese_first_without_raw_codes():
    from datetime import UTC, datetime

    from bot.cases.notices import notice_for
    from bot.store.models import Case
    case = Case(id=7, priority="urgent", topic="medical", locale="vi",
                created_at=datetime(2026, 12, 6, 0, 0, tzinfo=UTC))
    notice = notice_for(case, "new", "https://desk.example", datetime(2026, 12, 6, 0, 12, tzinfo=UTC))
    assert notice.subject.startswith("【緊急】新しい相談 #7(ベトナム語・医療) / [URGENT] New case #7")
    assert notice.body.splitlines()[:3] == ["【緊急】新しい相談 #7(ベトナム語・医療)", "待ち時間: 12 分",
                                            "開く: https://desk.example/inbox/cases/7"]


def test_audit_actions_and_details_read_as_japanese_text():
    from bot.inbox.labels import ACTION, action_label, detail_text
    assert action_label("case.escalate") == "相談中の緊急の言葉" and action_label("case.escalate", "en") == "case.escalate"
    assert action_label("something.new") == "something.new"                 # an action without a label stays readable
    assert detail_text({"level": "emergency", "before": {"priority": "normal"}}) == \
        "level: emergency、before: (priority: normal)"
    assert all(ACTION["ja"].values())
