"""There is no menu button yet: every text that points to the menu says what to write or tap instead."""
from __future__ import annotations

import re

import pytest

from bot import LOCALES

QUOTED = re.compile(r"[“「\"'](.+?)[”」\"']")


def quoted(text: str) -> set[str]:
    return {match.strip() for match in QUOTED.findall(text)}


@pytest.mark.parametrize("locale", LOCALES)
def test_not_found_says_which_word_opens_the_topics(locale, shared_content):
    catalog = shared_content.current().catalog
    words = quoted(catalog.text(locale, "answers.not_found"))
    assert words & set(catalog.words(locale, "commands.menu")), (locale, words)


@pytest.mark.parametrize("locale", LOCALES)
def test_privacy_reminder_names_the_button_to_tap(locale, shared_content):
    catalog = shared_content.current().catalog
    assert catalog.text(locale, "privacy.agree") in quoted(catalog.text(locale, "privacy.reminder")), locale


@pytest.mark.parametrize("locale", ["en", "ja", "my", "vi"])
def test_the_word_the_text_gives_works_even_with_its_quotes(bot, locale, shared_content):
    catalog = shared_content.current().catalog
    word = next(w for w in quoted(catalog.text(locale, "answers.not_found")) if w in catalog.words(locale, "commands.menu"))
    bot.follow(f"Umenu-{locale}", language=locale)
    replies = bot.say(f"Umenu-{locale}", f"“{word}”")
    assert catalog.text(locale, "menu.prompt") in replies, replies
