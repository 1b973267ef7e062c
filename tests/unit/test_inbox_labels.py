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
