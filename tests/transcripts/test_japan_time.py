"""Japan's clock and closed days: "today" is Tokyo's, deadlines move past days offices are closed."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.adapters.clock import ZoneClock, fixed_clock
from bot.flows.deadlines import birth_deadlines, checkup_window
from bot.flows.functions import compute_birth_deadlines
from bot.flows.office_days import is_office_closed, national_holidays
from tests.conftest import REPO

TOKYO = ZoneInfo("Asia/Tokyo")

# Cabinet Office (内閣府「国民の祝日について」) lists, substitute and citizens' holidays included.
CABINET_OFFICE = {
    2025: "01-01 01-13 02-11 02-23 02-24 03-20 04-29 05-03 05-04 05-05 05-06 07-21 08-11 09-15 09-23 10-13 11-03 11-23 11-24",
    2026: "01-01 01-12 02-11 02-23 03-20 04-29 05-03 05-04 05-05 05-06 07-20 08-11 09-21 09-22 09-23 10-12 11-03 11-23",
    2027: "01-01 01-11 02-11 02-23 03-21 03-22 04-29 05-03 05-04 05-05 07-19 08-11 09-20 09-23 10-11 11-03 11-23",
}


def at_tokyo(*parts) -> datetime:
    return datetime(*parts, tzinfo=TOKYO)


# ---- the clock ------------------------------------------------------------------------------------
@pytest.mark.parametrize("moment, today", [
    (at_tokyo(2026, 12, 6, 0, 30), date(2026, 12, 6)),      # 15:30 UTC on the 5th
    (at_tokyo(2026, 12, 6, 8, 44), date(2026, 12, 6)),      # the mother in the issue
    (at_tokyo(2026, 12, 6, 23, 30), date(2026, 12, 6)),
    (datetime(2026, 12, 5, 15, 0, tzinfo=UTC), date(2026, 12, 6)),
])
def test_today_is_japans_date(moment, today):
    clock = fixed_clock(moment)
    assert clock.today() == today
    assert clock.now().tzinfo == UTC and clock.now() == moment


def test_naive_database_times_are_read_as_utc():
    assert ZoneClock().local(datetime(2026, 12, 5, 23, 43)).strftime("%m/%d %H:%M") == "12/06 08:43"


# ---- national holidays and closed days -----------------------------------------------------------
@pytest.mark.parametrize("year", sorted(CABINET_OFFICE))
def test_national_holidays_match_the_cabinet_office(year):
    expected = {date.fromisoformat(f"{year}-{md}") for md in CABINET_OFFICE[year].split()}
    assert national_holidays(year) == expected


def test_every_weekday_the_desk_lists_as_closed_is_a_holiday_or_year_end():
    hours = yaml.safe_load((REPO / "flows" / "desk" / "hours.yaml").read_text(encoding="utf-8"))
    for day in hours["closed"]:
        assert is_office_closed(day), day


@pytest.mark.parametrize("day, closed", [
    (date(2026, 12, 28), False), (date(2026, 12, 29), True), (date(2027, 1, 3), True), (date(2027, 1, 4), False),
    (date(2026, 12, 5), True), (date(2026, 12, 6), True), (date(2026, 11, 23), True), (date(2026, 9, 22), True),
])
def test_office_closed_days(day, closed):
    assert is_office_closed(day) is closed


# ---- deadlines on closed days ----------------------------------------------------------------------
def deadline(birth: date, key: str, today: date | None = None):
    return {d.key: d for d in birth_deadlines(birth, today or birth)}[key]


@pytest.mark.parametrize("birth, key, original, due, go_by", [
    # status of residence (national office, Act on Holidays of Administrative Organs art. 2)
    (date(2026, 12, 1), "residence_status", date(2026, 12, 31), date(2027, 1, 4), date(2026, 12, 28)),   # year end
    (date(2026, 12, 12), "residence_status", date(2027, 1, 11), date(2027, 1, 12), date(2027, 1, 8)),    # Coming of Age Day
    (date(2026, 10, 8), "residence_status", date(2026, 11, 7), date(2026, 11, 9), date(2026, 11, 6)),    # Saturday
    # birth registration (city office, Local Autonomy Act art. 4-2(4))
    (date(2026, 12, 16), "birth_registration", date(2026, 12, 29), date(2027, 1, 4), date(2026, 12, 28)),  # year end
    (date(2026, 11, 10), "birth_registration", date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 20)),  # Labour Thanksgiving
    (date(2026, 11, 22), "birth_registration", date(2026, 12, 5), date(2026, 12, 7), date(2026, 12, 4)),   # Saturday
])
def test_a_deadline_on_a_closed_day_moves_to_the_next_open_day(birth, key, original, due, go_by):
    found = deadline(birth, key)
    assert (found.original, found.due, found.go_by) == (original, due, go_by)
    assert found.extended and not is_office_closed(found.due)


def test_an_extended_deadline_is_never_called_passed_while_it_runs():
    birth = date(2026, 12, 1)
    for offset in range(0, 5):                      # 31 Dec to 4 Jan: the extension
        today = date(2026, 12, 31) + timedelta(days=offset)
        found = deadline(birth, "residence_status", today)
        assert not found.passed and found.days_left == (date(2027, 1, 4) - today).days
    assert deadline(birth, "residence_status", date(2027, 1, 5)).passed


def test_go_by_is_left_out_once_it_has_passed():
    found = deadline(date(2026, 12, 1), "residence_status", date(2026, 12, 30))
    assert found.go_by is None and found.due == date(2027, 1, 4)


def test_child_allowance_is_not_extended_but_says_the_office_is_closed():
    item = {d["key"]: d for d in compute_birth_deadlines("2026-11-20", date(2026, 11, 21))["deadlines"]}["child_allowance"]
    assert item["due"] == "2026-12-05" and item["go_by"] == "2026-12-04"
    assert item["notes"] == ["deadline.closed_not_moved", "deadline.go_by"]


def test_one_month_checkup_is_a_window_of_open_days_not_new_year():
    assert checkup_window(date(2026, 12, 1)) == (date(2027, 1, 4), date(2027, 1, 12))


# ---- whole turns over the webhook at 00:30 and 23:30 in Tokyo -------------------------------------------
def checklist_at(bot, services, moment: datetime, birth: str, user: str) -> str:
    services.clock = fixed_clock(moment)
    bot.follow(user, language="en")
    bot.tap(user, "f:main_menu:menu:birth")
    return "\n".join(bot.say(user, birth))


@pytest.mark.parametrize("moment", [at_tokyo(2026, 12, 6, 0, 30), at_tokyo(2026, 12, 6, 23, 30)])
def test_a_baby_born_today_in_japan_gets_the_checklist(bot, services, moment):
    text = checklist_at(bot, services, moment, "2026-12-06", f"Uclock{moment.hour}")
    assert "in the future" not in text
    assert "by Mon 21 December 2026. 15 days left." in text         # birth registration: 6 + 13 days, counted from today
    # 5 Jan 2027 is open: the residence deadline is not moved.
    assert "by Tue 5 January 2027. 30 days left." in text


@pytest.mark.parametrize("moment", [at_tokyo(2026, 12, 6, 0, 30), at_tokyo(2026, 12, 6, 23, 30)])
def test_status_of_residence_over_new_year_in_a_whole_turn(bot, services, moment):
    text = checklist_at(bot, services, moment, "2026-12-01", f"Uyearend{moment.hour}")
    assert "Baby's status of residence at immigration: by Mon 4 January 2027. 29 days left." in text
    assert "Immigration is closed on Thu 31 December 2026, so by law the last day moves to Mon 4 January 2027." in text
    assert "To be safe, go by Mon 28 December 2026." in text
    assert "between Mon 4 January 2027 and Tue 12 January 2027" in text and "around" not in text


def test_tomorrow_in_japan_is_still_the_future_at_23_30(bot, services):
    text = checklist_at(bot, services, at_tokyo(2026, 12, 5, 23, 30), "2026-12-06", "Ulate-night")
    assert "in the future" in text


@pytest.mark.parametrize("locale", ["ja", "ja-easy", "zh-Hans", "zh-Hant", "ko", "vi", "tl", "ne", "id", "pt-BR",
                                    "es", "my", "si", "th", "hi", "bn", "en"])
def test_every_locale_explains_a_moved_deadline(locale, shared_content):
    from bot.flows.engine import FlowEngine
    content = shared_content.current()
    engine = FlowEngine(content.flows, content.catalog, locale, date(2026, 12, 6))
    result = engine.start("birth_checklist")
    step = result.state
    result = engine.answer_text(step, "2026-12-01")
    text = "\n".join(m.get("text", "") for m in result.messages)
    assert "2027" in text and "{{" not in text
    assert content.catalog.text(locale, "deadline.moved_national", original="2026-12-31", due="2027-01-04") in text


def test_inbox_shows_message_times_in_japan(bot, services, app):
    from sqlalchemy import select, update

    from bot.inbox.auth import create_advisor
    from bot.store.models import Case, Message
    from tests.support.inbox import PASSWORD, login
    with services.sessions.begin() as session:
        create_advisor(session, "t@npo.example", PASSWORD, "advisor", "田中")
    bot.follow("Uinbox-time", language="en")
    bot.say("Uinbox-time", "talk to a person")
    with services.sessions.begin() as session:
        session.execute(update(Message).values(created_at=datetime(2026, 12, 5, 23, 43, tzinfo=UTC)))
        case_id = session.scalar(select(Case.id))
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    login(client, "t@npo.example")
    page = client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "12/06 08:43" in page and "12/05 23:43" not in page
