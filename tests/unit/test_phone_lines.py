"""Phone lines per area (resources/phone_lines.yaml) and the call buttons built from them."""
from __future__ import annotations

import pytest

from bot.dialogue.messages import tel_uri
from bot.resources.lines import PhoneLinesError, load_phone_lines
from tests.conftest import REPO


@pytest.fixture(scope="module")
def lines():
    return load_phone_lines(REPO / "resources" / "phone_lines.yaml")


def test_chiba_and_tokyo_have_their_own_numbers_and_others_the_national_short_ones(lines):
    matsudo, toshima, elsewhere = (lines.line("adult", m) for m in ("matsudo-shi", "toshima-ku", None))
    assert (matsudo.dial, matsudo.phone) == ("#7119", "03-6810-1636")
    assert ("mon_sat", "18:00-08:00") in matsudo.hours          # Chiba's line is closed on weekday daytimes
    assert toshima.phone == "03-3212-2323" and toshima.hours == (("every_day", "24h"),)
    assert (elsewhere.dial, elsewhere.phone) == ("#7119", None)
    assert lines.line("child", "matsudo-shi").phone == "043-242-9939"


def test_call_buttons_encode_hash_and_prefer_the_ordinary_number(lines):
    assert tel_uri("#8000") == "tel:%238000"                  # '#' would start a URI fragment
    assert tel_uri("0120-279-338") == "tel:0120279338"
    assert lines.line("child", None).call_uri == "tel:%238000"
    assert lines.line("child", "matsudo-shi").call_uri == "tel:0432429939"   # iPhones refuse '#' links


@pytest.mark.parametrize("text,expected", [
    ("areas:\n  default:\n    adult: {dial: '#7119'}\n", "needs both an adult and a child line"),
    ("areas:\n  default:\n    adult: {dial: '#7119'}\n    child: {dial: '#8000'}\n"
     "municipalities:\n  matsudo-shi: chiba\n", "area 'chiba', which is not under 'areas:'"),
    ("areas:\n  default:\n    adult: {dial: '#7119', hours: [{days: weekdays, time: '09:00-17:00'}]}\n"
     "    child: {dial: '#8000'}\n", "days 'weekdays' is not one of"),
    ("areas:\n  default:\n    adult: {dial: '#7119', hours: [{days: every_day, time: '9-17'}]}\n"
     "    child: {dial: '#8000'}\n", "time '9-17' is not like"),
    ("areas:\n  default:\n    adult: {phone: 03-1234-5678}\n    child: {dial: '#8000'}\n", "needs 'dial:'"),
])
def test_mistakes_are_explained_with_the_file(tmp_path, text, expected):
    path = tmp_path / "phone_lines.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PhoneLinesError) as error:
        load_phone_lines(path)
    assert any(expected in problem and "phone_lines.yaml:" in problem for problem in error.value.problems), \
        error.value.problems


def test_call_button_labels_fit_line_in_every_locale(lines):
    """LINE cuts labels at 20 characters; the emoji may count twice, so 19 at most."""
    from bot import LOCALES
    from bot.content.i18n import Catalog
    catalog = Catalog.load(REPO / "locales")
    numbers = {"ambulance": "119", "police": "110", "child": lines.line("child", None).dial,
               "adult": lines.line("adult", None).dial}
    for locale in LOCALES:
        for kind, number in numbers.items():
            label = catalog.text(locale, f"danger.call_{kind}", dial=number)
            assert number in label and len(label) <= 19, (locale, label)


GUIDE_FIRST_LINE = {          # what the first message must already say, for a Matsudo (Chiba) parent
    "child-health-question": ("#8000", "043-242-9939", "119"),
    "vaccination-question": ("#8000", "043-242-9939", "119"),
    "adult-health-question": ("#7119", "03-6810-1636", "119"),
    "ambulance-question": ("119", "#7119", "住所は"),
    "pet-health": ("119", "#8000"),
}


def test_every_calm_answer_gives_the_number_first_and_offers_a_person_in_every_locale(shared_content):
    from bot import LOCALES
    from bot.content.i18n import Catalog
    from bot.dialogue.safety import CalmAnswers
    from bot.dialogue.triage import TriageResult
    from bot.dialogue.turn import TurnContext, UserState
    content = shared_content.current()
    answers = CalmAnswers(content, render_entries=lambda ids, locale: [])
    assert isinstance(content.catalog, Catalog)
    for locale in LOCALES:
        for category, expected in GUIDE_FIRST_LINE.items():
            ctx = TurnContext(event={}, user=UserState("U1", locale=locale, municipality="matsudo-shi"),
                              catalog=content.catalog, messenger=None)
            answers.answer(ctx, TriageResult("guide", category, "medical", (), ("test",)), ())
            first, offer = ctx.outgoing[0]["text"], ctx.outgoing[-1]
            assert all(number in first for number in expected), (locale, category, first)
            actions = [item["action"] for item in offer["quickReply"]["items"]]
            assert any(a.get("data") == "cmd:person" for a in actions)
            assert all(len(a["label"]) <= 20 for a in actions)
            if category != "pet-health":
                assert actions[0]["type"] == "uri" and actions[0]["uri"].startswith("tel:")
