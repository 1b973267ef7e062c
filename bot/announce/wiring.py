"""Builds the announcement pieces from the services (the composition root's clients and settings)."""
from __future__ import annotations

from bot.announce.segment import Audience
from bot.announce.sending import AnnouncementSender, SendPolicy
from bot.dialogue.messages import text_message
from bot.reminders.age_bands import age_band_filter

HEADING_KEY = "announcement.heading"
FOOTER_KEY = "announcement.footer"


def audience(services) -> Audience:
    """Who may receive a notice; stages and ages come from the dates kept for reminders."""
    return Audience(default_locale=services.settings.default_locale, today=services.clock.today(),
                    age_band_filter=age_band_filter)


def message_builder(services):
    """(locale, approved text) → the LINE message: who it is from, the notice, and where to ask."""
    def build(locale: str, text: str) -> list[dict]:
        catalog = services.content.current().catalog
        return [text_message(f"{catalog.text(locale, HEADING_KEY)}\n\n{text}\n\n{catalog.text(locale, FOOTER_KEY)}")]
    return build


def announcement_sender(services, on_progress=lambda: None) -> AnnouncementSender:
    settings = services.settings
    return AnnouncementSender(
        services.sessions, services.multicaster, audience(services), services.clock, message_builder(services),
        on_monthly_limit=services.quota.monthly_limit_reached,
        policy=SendPolicy(max_attempts=settings.line_max_attempts, backoff_base_s=settings.line_backoff_base_s,
                          stop=services.stop),
        on_progress=on_progress)
