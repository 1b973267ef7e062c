"""Burmese typed in Zawgyi is converted to Unicode before triage, search and the advisor's inbox."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.content.zawgyi import is_zawgyi, normalise_event_text, to_unicode
from bot.store.models import Case, Message

# (typed with a Zawgyi keyboard, the same words in Unicode)
BABY_NOT_BREATHING = ("ကေလးအသက္မရွဴေတာ့ဘူး ကယ္ပါ", "ကလေးအသက်မရှူတော့ဘူး ကယ်ပါ")
BLEEDING_IN_PREGNANCY = ("ကိုယ္၀န္ ၇ လ ေသြးအမ်ားႀကီးဆင္းေနတယ္", "ကိုယ်ဝန် ၇ လ သွေးအများကြီးဆင်းနေတယ်")
BABY_BORN = ("ကေလးေမြးၿပီးၿပီ", "ကလေးမွေးပြီးပြီ")


@pytest.mark.parametrize("zawgyi, unicode", [BABY_NOT_BREATHING, BLEEDING_IN_PREGNANCY, BABY_BORN])
def test_zawgyi_is_detected_and_converted(zawgyi, unicode):
    assert is_zawgyi(zawgyi) and not is_zawgyi(unicode)
    assert to_unicode(zawgyi) == unicode
    assert to_unicode(unicode) == unicode                 # Unicode Burmese is left alone


@pytest.mark.parametrize("text", ["hello", "赤ちゃんが息をしていない", "ကလေး ၁၀ လ ရှိပြီ", ""])
def test_other_text_is_untouched(text):
    assert to_unicode(text) == text


def test_the_event_keeps_the_original_beside_the_conversion():
    event = {"type": "message", "message": {"type": "text", "text": BABY_NOT_BREATHING[0]}}
    converted = normalise_event_text(event)
    assert converted["message"]["text"] == BABY_NOT_BREATHING[1]
    assert converted["message"]["zawgyiText"] == BABY_NOT_BREATHING[0]
    assert event["message"]["text"] == BABY_NOT_BREATHING[0]          # the stored raw event is not changed


@pytest.mark.parametrize("zawgyi, unicode", [BABY_NOT_BREATHING, BLEEDING_IN_PREGNANCY])
def test_zawgyi_emergency_over_the_webhook(bot, services, zawgyi, unicode):
    bot.follow("Uzawgyi", language="my")
    replies = bot.say("Uzawgyi", zawgyi)
    assert any("119" in text for text in replies), replies
    with services.sessions() as session:
        case = session.scalar(select(Case))
        stored = session.scalars(select(Message.text).where(Message.direction == "in", Message.kind == "text")).all()
    assert case is not None and case.priority == "urgent"
    assert stored[-1] == unicode                          # what the advisor reads


# "How do I apply for child allowance?" typed with a Zawgyi keyboard (the vowel sign e before its
# consonant, U+1039 as asat, U+107E medial ra): the index answers it as it answers the Unicode words.
CHILD_ALLOWANCE_QUESTION = ("ကေလးေထာက္ပံ့ေၾကး ဘယ္လို ေလၽႇာက္ရမလဲ", "ကလေးထောက်ပံ့ကြေး ဘယ်လို လျှောက်ရမလဲ")


def test_a_zawgyi_question_is_answered_from_the_index(bot, services):
    zawgyi, unicode = CHILD_ALLOWANCE_QUESTION
    assert is_zawgyi(zawgyi) and to_unicode(zawgyi) == unicode
    title = services.content.current().index.text("child-allowance", "my").title
    bot.follow("Uzawgyi-q", language="my")
    replies = bot.say("Uzawgyi-q", zawgyi)
    assert any(text.startswith(f"■ {title}") for text in replies), replies
