"""Words the inbox shows for codes: status, priority, topic, language, triage reason.

Japanese by default; English when the advisor chose it (a preference kept in the session).
The codes themselves stay what they are in the database, the CLI and the CSV export.
"""
from __future__ import annotations

UI_LANGUAGES = ("ja", "en")

STATUS = {
    "ja": {"waiting": "受付待ち", "assigned": "対応中", "waiting_user": "利用者の返事待ち", "resolved": "解決済み"},
    "en": {"waiting": "waiting", "assigned": "assigned", "waiting_user": "waiting for the user",
           "resolved": "resolved"},
}
PRIORITY = {
    "ja": {"urgent": "緊急", "high": "高", "normal": "通常"},
    "en": {"urgent": "urgent", "high": "high", "normal": "normal"},
}
TOPIC = {
    "ja": {"visa": "在留資格", "medical": "医療", "pregnancy": "妊娠・出産", "childcare": "子育て・保育",
           "money": "お金・手当", "legal": "法律", "violence": "暴力・DV", "living": "生活"},
    "en": {"visa": "visa", "medical": "medical", "pregnancy": "pregnancy", "childcare": "childcare",
           "money": "money", "legal": "legal", "violence": "violence", "living": "living"},
}
LANGUAGE = {
    "ja": {"ja": "日本語", "ja-easy": "やさしい日本語", "en": "英語", "zh-Hans": "中国語(簡体字)",
           "zh-Hant": "中国語(繁体字)", "ko": "韓国語", "vi": "ベトナム語", "tl": "タガログ語", "ne": "ネパール語",
           "id": "インドネシア語", "pt-BR": "ポルトガル語", "es": "スペイン語", "my": "ミャンマー語",
           "si": "シンハラ語", "th": "タイ語", "hi": "ヒンディー語", "bn": "ベンガル語"},
    "en": {"ja": "Japanese", "ja-easy": "Easy Japanese", "en": "English", "zh-Hans": "Chinese (simplified)",
           "zh-Hant": "Chinese (traditional)", "ko": "Korean", "vi": "Vietnamese", "tl": "Tagalog", "ne": "Nepali",
           "id": "Indonesian", "pt-BR": "Portuguese", "es": "Spanish", "my": "Burmese", "si": "Sinhala",
           "th": "Thai", "hi": "Hindi", "bn": "Bengali"},
}
LEVEL = {
    "ja": {"emergency": "緊急", "crisis": "危機", "advisor": "相談員へ", "guide": "案内", "person": "相談員へ"},
    "en": {"emergency": "emergency", "crisis": "crisis", "advisor": "advisor", "guide": "guide", "person": "advisor"},
}
CATEGORY = {
    "ja": {"adult-medical": "大人の急病", "child-abuse": "子どもへの虐待", "child-medical": "子どもの急病",
           "deportation": "強制送還のおそれ", "dv": "DV", "exploitation": "搾取", "labour-dispute": "労働トラブル",
           "legal-dispute": "法律トラブル", "medical-symptoms": "体の症状", "person-request": "相談員を希望",
           "poverty": "生活困窮", "pregnancy-medical": "妊娠中の急な症状", "residence-status": "在留資格の問題",
           "suicidal": "自殺の危険",
           "suicide": "自殺の危険", "violence": "暴力", "general": "その他"},
    "en": {},
}
OUTCOME = {
    "ja": {"not_found": "答えが見つからない", "not_helpful": "役に立たなかった", "answered": "回答",
           "suggested": "候補を提示"},
    "en": {"not_found": "not found", "not_helpful": "not helpful", "answered": "answered", "suggested": "suggested"},
}
# Reasons the bot writes when it opens a case without triage (bot/dialogue/conversation.py).
REASON = {"ja": {"user asked for a person": "利用者が相談員を希望", "flow": "案内の途中で相談員へ"}}
SAFETY_LEVELS = ("emergency", "crisis")


def _pick(table: dict, ui: str, code: str | None) -> str:
    if code is None:
        return "—"
    return table.get(ui if ui in table else "ja", {}).get(code) or table["ja"].get(code) or code


def status_label(code, ui="ja") -> str:
    return _pick(STATUS, ui, code)


def priority_label(code, ui="ja") -> str:
    return _pick(PRIORITY, ui, code)


def topic_label(code, ui="ja") -> str:
    return _pick(TOPIC, ui, code)


def language_label(code, ui="ja") -> str:
    return _pick(LANGUAGE, ui, code)


def outcome_label(code, ui="ja") -> str:
    return _pick(OUTCOME, ui, code)


def split_reason(reason: str | None) -> tuple[str | None, str | None]:
    """'triage: emergency/child-medical' → ('emergency', 'child-medical'); other reasons → (None, None)."""
    if not reason or not reason.startswith("triage: "):
        return None, None
    level, _, category = reason.removeprefix("triage: ").partition("/")
    return level or None, (category if category and category != "None" else None)


def reason_label(reason: str | None, ui="ja") -> str:
    """The case's reason as words: 'triage: emergency/child-medical' → '緊急・子どもの急病'."""
    level, category = split_reason(reason)
    if level is None:
        if not reason:
            return ""
        return reason if ui == "en" else REASON["ja"].get(reason, reason)
    words = [_pick(LEVEL, ui, level)]
    if category:
        words.append(CATEGORY.get(ui, {}).get(category) or CATEGORY["ja"].get(category, category)
                     if ui == "ja" else category)
    return "・".join(words) if ui == "ja" else " / ".join(words)


# Audit actions as the admin reads them (the code stays beside it, small, for searching the log).
ACTION = {"ja": {
    "account.create": "アカウント作成", "account.latin_name": "ローマ字名の変更",
    "account.reset-password": "パスワード再設定", "password.change": "パスワード変更",
    "announce.create": "お知らせ作成", "announce.edit": "お知らせ編集", "announce.segment": "お知らせの対象変更",
    "announce.retranslate": "お知らせ再翻訳", "announce.review": "お知らせ確認済み",
    "announce.schedule": "お知らせ送信予約", "announce.start": "お知らせ送信開始",
    "announce.sent": "お知らせ送信完了", "announce.stopped": "お知らせ送信停止(上限)",
    "announce.cancel": "お知らせ取り消し", "announce.resume": "お知らせ送信再開",
    "case.view": "ケース閲覧", "case.claim": "担当する", "case.release": "担当を外れる",
    "case.transfer": "担当の変更", "case.reply": "返信", "case.note": "メモ", "case.priority": "優先度の変更",
    "case.topic": "分野の変更", "case.resolve": "解決", "case.reopen": "再開",
    "case.escalate": "相談中の緊急の言葉", "dashboard.export": "集計の書き出し",
    "user.export": "利用者データの書き出し", "user.delete": "利用者データの削除",
    "login": "ログイン",
}}


def action_label(code: str | None, ui: str = "ja") -> str:
    if not code or ui != "ja":
        return code or ""
    return ACTION["ja"].get(code, code)


def detail_text(detail, ui: str = "ja") -> str:
    """An audit entry's details as 'key: value' pairs, not a Python dict."""
    if not detail:
        return ""
    if not isinstance(detail, dict):
        return str(detail)
    return "、".join(f"{key}: ({detail_text(value)})" if isinstance(value, dict) else f"{key}: {value}"
                    for key, value in detail.items())


FILTERS = {"status_label": status_label, "priority_label": priority_label, "topic_label": topic_label,
           "language_label": language_label, "reason_label": reason_label, "outcome_label": outcome_label,
           "action_label": action_label, "detail_text": detail_text}
