"""Notifier port adapters: e-mail over SMTP and a generic JSON webhook (Slack, Teams, ...).

Notifications carry no message text, name or LINE id: only the case number, language, topic,
priority and a link to the inbox, because e-mail and chat tools are outside our control.
"""
from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage


class NotifyError(Exception):
    """Delivery of a notification failed; the job is retried."""


# The advisors read Japanese; the English line after it serves a desk that works in English.
KIND_JA = {"new": "新しい相談", "escalated": "まだ担当者なし", "reopened": "相談が再開",
           "raised": "対応中の相談で緊急事態"}
KIND_EN = {"new": "New", "escalated": "STILL UNCLAIMED", "reopened": "Reopened", "raised": "EMERGENCY IN OPEN CASE"}


@dataclass(frozen=True)
class CaseNotice:
    case_id: int
    kind: str            # new | escalated | reopened | raised
    priority: str
    topic: str
    locale: str
    waiting_minutes: int
    link: str
    # The same three in Japanese, as the inbox shows them (the codes when not given).
    priority_ja: str = ""
    topic_ja: str = ""
    language_ja: str = ""

    @property
    def subject(self) -> str:
        return f"{self.subject_ja} / {self.subject_en}"

    @property
    def subject_ja(self) -> str:
        kind = KIND_JA.get(self.kind, self.kind)
        return (f"【{self.priority_ja or self.priority}】{kind} #{self.case_id}"
                f"({self.language_ja or self.locale}・{self.topic_ja or self.topic})")

    @property
    def subject_en(self) -> str:
        kind = KIND_EN.get(self.kind, self.kind)
        return f"[{self.priority.upper()}] {kind} case #{self.case_id} ({self.locale}, {self.topic})"

    @property
    def body(self) -> str:
        return (f"{self.subject_ja}\n待ち時間: {self.waiting_minutes} 分\n開く: {self.link}\n"
                "メールには相談の本文を載せていません。受信箱で読んでください。\n\n"
                f"{self.subject_en}\nWaiting for {self.waiting_minutes} min.\nOpen: {self.link}\n"
                "No message text is sent by e-mail; read it in the inbox.")


class SmtpNotifier:
    def __init__(self, host: str, port: int, sender: str, recipients: list[str],
                 username: str = "", password: str = "", starttls: bool = False, timeout: float = 10.0):
        self._host, self._port, self._sender, self._recipients = host, port, sender, recipients
        self._username, self._password, self._starttls, self._timeout = username, password, starttls, timeout

    def notify(self, notice: CaseNotice) -> None:
        self._send(notice.subject, notice.body)

    def _send(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, self._sender, ", ".join(self._recipients)
        message.set_content(body)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"e-mail to advisors failed: {type(exc).__name__}") from exc

    def alert(self, subject: str, body: str) -> None:
        """An operational alert for admins (LINE quota): same channel, no personal data."""
        self._send(subject, body)


class WebhookNotifier:
    def __init__(self, url: str, timeout: float = 10.0):
        self._url, self._timeout = url, timeout

    def notify(self, notice: CaseNotice) -> None:
        payload = {"text": notice.subject + f" — {notice.link}", "case_id": notice.case_id, "kind": notice.kind,
                   "priority": notice.priority, "topic": notice.topic, "locale": notice.locale,
                   "waiting_minutes": notice.waiting_minutes, "link": notice.link}
        self._post(payload)

    def _post(self, payload: dict) -> None:
        request = urllib.request.Request(self._url, data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                if response.status >= 300:
                    raise NotifyError(f"webhook answered {response.status}")
        except (OSError, urllib.error.URLError) as exc:
            raise NotifyError(f"webhook notification failed: {type(exc).__name__}") from exc

    def alert(self, subject: str, body: str) -> None:
        """An operational alert for admins (LINE quota): same channel, no personal data."""
        self._post({"text": f"{subject}\n{body}", "kind": "admin-alert", "subject": subject, "body": body})
