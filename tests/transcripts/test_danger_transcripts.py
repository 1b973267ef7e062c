"""Transcripts, per locale, over the whole path (signed webhook → queue → worker → fake LINE):

1. a calm question about danger ("fever at night, but playing and feeding: is there a number?")
   gets the number first, for the user's area, with a call button and a person offered, and no
   case is opened until the parent taps "talk to a person";
2. an emergency on a Sunday in Japan, when the desk is closed: the numbers, how to say the
   address in Japanese, call buttons, and when the desk opens, never a promise of a reply.

The messages were written for these tests.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot import LOCALES
from bot.adapters.clock import fixed_clock
from bot.store.models import Case, User

SUNDAY_IN_JAPAN = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)     # Sunday 11:00 in Tokyo
DESK_OPENS = ("2026-12-07", "09:00")                                     # Monday, flows/desk/hours.yaml
CHIBA_CHILD_LINE = "043-242-9939"                                        # resources/phone_lines.yaml
CHIBA_ADULT_LINE = "03-6810-1636"                                        # #7119's ordinary number there

CALM_QUESTION = {
    "ja": "子どもが熱を出しましたが、元気に遊んでいます。夜に相談できる番号はありますか",
    "ja-easy": "こどもが すこし ねつが あります。でも げんきに あそんで います。よる そうだんできる ばんごうは ありますか",
    "en": "My son has a fever of 38 tonight but he is playing and feeding well. Is there a number I can call to ask?",
    "zh-Hans": "孩子晚上发烧38度,但是还在玩,吃奶正常。有没有可以咨询的电话?",
    "zh-Hant": "孩子晚上發燒38度,但是還在玩,喝奶正常。有沒有可以諮詢的電話?",
    "ko": "아이가 밤에 열이 38도인데 잘 놀고 잘 먹어요. 물어볼 수 있는 번호가 있나요?",
    "vi": "Con bị sốt 38 độ buổi tối nhưng vẫn chơi và bú bình thường. Có số nào để gọi hỏi không?",
    "tl": "May lagnat ang anak ko ngayong gabi pero naglalaro pa at dumedede naman. May number ba na puwedeng "
          "tawagan para magtanong?",
    "ne": "मेरो छोरालाई राति ज्वरो आयो तर खेलिरहेको छ र दूध राम्रै खान्छ। सोध्नको लागि कुनै नम्बर छ?",
    "id": "Anak saya demam 38 malam ini tapi masih main dan nyusu normal. Ada nomor untuk tanya?",
    "pt-BR": "Meu filho está com febre de 38 à noite, mas está brincando e mamando bem. Tem algum número para "
             "perguntar?",
    "es": "Mi hijo tiene fiebre de 38 esta noche pero está jugando y come bien. ¿Hay algún número para preguntar?",
    "my": "ကလေး ညဘက် အဖျား 38 ရှိပေမဲ့ ကစားနေပြီး နို့စို့နေတယ်။ မေးလို့ရတဲ့ ဖုန်းနံပါတ်ရှိလား",
    "si": "මගේ බබාට රෑ උණ තියෙනවා, ඒත් සෙල්ලම් කරනවා, කිරි බොනවා. අහන්න අංකයක් තියෙනවද?",
    "th": "ลูกมีไข้ 38 ตอนกลางคืน แต่ยังเล่นได้ กินนมได้ มีเบอร์ให้โทรถามไหม",
    "hi": "मेरे बच्चे को रात में 38 बुखार है, पर वह खेल रहा है और दूध पी रहा है। पूछने के लिए कोई नंबर है?",
    "bn": "আমার বাচ্চার রাতে 38 জ্বর, কিন্তু খেলছে আর দুধ খাচ্ছে। জিজ্ঞেস করার জন্য কোনো নম্বর আছে?",
}
# "Not sure whether an ambulance is needed" for an adult (written for this test, not from an eval set).
UNSURE_AMBULANCE = {
    "ja": "夫が夜中にお腹が痛いと言っています。救急車を呼ぶか迷ったら、どこに電話すればいいですか",
    "ja-easy": "おっと おなか いたい。きゅうきゅうしゃ よぶか わからない。どこに でんわ？",
    "en": "my husband has a stomach ache tonight, not sure if he needs an ambulance. who can i ask?",
    "zh-Hans": "老公晚上肚子疼，不知道要不要叫救护车，可以打哪个电话问？",
    "zh-Hant": "老公晚上肚子痛，不知道要不要叫救護車，可以打哪個電話問？",
    "ko": "남편이 밤에 배가 아프대요. 구급차 불러야 할지 애매한데 어디에 물어봐요?",
    "vi": "chồng em tối nay đau bụng, không biết có nên gọi xe cấp cứu không, hỏi ở đâu ạ",
    "tl": "masakit tiyan ng asawa ko ngayong gabi, di ko alam kung kailangan ng ambulansya, saan pwede magtanong",
    "ne": "श्रीमानको राति पेट दुख्यो, एम्बुलेन्स बोलाउने कि नाई थाहा छैन, कहाँ सोध्ने?",
    "id": "suami sakit perut malam ini, ragu perlu ambulans atau tidak, tanya ke mana?",
    "pt-BR": "meu marido ta com dor de barriga hoje a noite, nao sei se precisa chamar ambulancia, onde pergunto?",
    "es": "mi esposo tiene dolor de estomago esta noche, no sé si hay que llamar ambulancia, ¿a dónde pregunto?",
    "my": "ယောက်ျား ညဘက် ဗိုက်နာနေတယ်၊ အရေးပေါ်ကား ခေါ်ရမလား မသေချာဘူး၊ ဘယ်မှာ မေးရမလဲ",
    "si": "මහත්තයාට රෑ බඩේ කැක්කුමක්, ඇම්බියුලන්ස් එකක් ඕනද නැද්ද දන්නේ නෑ. කාගෙන්ද අහන්නේ?",
    "th": "สามีปวดท้องตอนกลางคืน ไม่แน่ใจว่าต้องเรียกรถพยาบาลไหม โทรถามที่ไหนได้",
    "hi": "पति को रात में पेट दर्द है, एम्बुलेंस बुलाएं या नहीं पता नहीं, कहाँ पूछें?",
    "bn": "স্বামীর রাতে পেট ব্যথা, অ্যাম্বুলেন্স ডাকব কি না বুঝতে পারছি না, কোথায় জিজ্ঞেস করব?",
}
EMERGENCY = {
    "ja": "赤ちゃんが息をしていません", "ja-easy": "あかちゃんが いきを して いません", "en": "my baby is not breathing",
    "zh-Hans": "宝宝不呼吸了", "zh-Hant": "寶寶沒有呼吸了", "ko": "아기가 숨을 안 쉬어요", "vi": "bé không thở",
    "tl": "hindi humihinga ang baby ko", "ne": "मेरो बच्चाले सास फेरेको छैन", "id": "bayi saya tidak bernapas",
    "pt-BR": "meu bebê não está respirando", "es": "mi bebé no respira", "my": "ကလေး အသက်မရှူတော့ဘူး",
    "si": "බබා හුස්ම ගන්නේ නැහැ", "th": "ลูกไม่หายใจ", "hi": "मेरा बच्चा साँस नहीं ले रहा",
    "bn": "আমার বাচ্চা শ্বাস নিচ্ছে না",
}


@pytest.fixture
def sunday_in_japan(monkeypatch, services):
    """The turn's clock (the one CaseDesk and the safety answer use) says Sunday in Japan."""
    monkeypatch.setattr(services, "clock", fixed_clock(SUNDAY_IN_JAPAN))


def start_in_matsudo(bot, user_id: str, locale: str) -> None:
    bot.follow(user_id, language="en", agree=False)
    bot.tap(user_id, f"lang:{locale}")
    bot.tap(user_id, "privacy:agree")
    bot.tap(user_id, "muni:matsudo-shi")


def messages_for(bot, fake_line, user_id: str, text: str) -> list[dict]:
    before = len(fake_line.messages_to(user_id))
    bot.say(user_id, text)
    return [m for request in fake_line.messages_to(user_id)[before:] for m in request["messages"]]


def quick_actions(message: dict) -> list[dict]:
    return [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]


def cases_of(services, user_id: str) -> list[Case]:
    with services.sessions() as session:
        user = session.scalar(select(User).where(User.line_user_id == user_id))
        return list(session.scalars(select(Case).where(Case.user_id == user.id)))


@pytest.mark.parametrize("locale", LOCALES)
def test_calm_question_then_emergency_on_a_sunday(bot, services, fake_line, sunday_in_japan, locale):
    catalog = services.content.current().catalog
    user_id = f"Udanger{locale.replace('-', '')}"
    start_in_matsudo(bot, user_id, locale)

    # 1. A calm question: the number first (Chiba's, with its ordinary line), a call button, a person offered.
    calm = messages_for(bot, fake_line, user_id, CALM_QUESTION[locale])
    assert "#8000" in calm[0]["text"] and CHIBA_CHILD_LINE in calm[0]["text"], calm[0]["text"]
    offer = quick_actions(calm[-1])
    assert {"type": "uri", "uri": "tel:0432429939"}.items() <= offer[0].items()
    assert any(a.get("data") == "cmd:person" for a in offer)
    assert cases_of(services, user_id) == []                      # no case until the parent asks

    # 2. An emergency on Sunday: numbers, the address in Japanese, call buttons, when the desk opens.
    urgent = messages_for(bot, fake_line, user_id, EMERGENCY[locale])
    texts = [m["text"] for m in urgent]
    assert "119" in texts[0] and "住所は" in texts[0]
    closed = catalog.text(locale, "danger.desk_closed", opens_day=DESK_OPENS[0], opens_time=DESK_OPENS[1])
    assert closed in texts and "09:00" in closed
    promises = [catalog.text(locale, "danger.desk_open", minutes=10), catalog.text(locale, "handoff.opened", minutes=10),
                catalog.text(locale, "handoff.already_open"), catalog.text(locale, "desk.hours_open")]
    assert not any(promise in text for promise in promises for text in texts)
    calls = [a["uri"] for a in quick_actions(urgent[-1]) if a["type"] == "uri"]
    assert calls[:3] == ["tel:119", "tel:0432429939", "tel:110"]
    for action in quick_actions(urgent[-1]):
        assert len(action["label"]) <= 20
    [case] = cases_of(services, user_id)
    assert case.priority == "urgent" and case.out_of_hours_notified


def test_accepting_the_offer_opens_a_case_and_says_when_the_desk_opens(bot, services, fake_line, sunday_in_japan):
    start_in_matsudo(bot, "Ucalmyes", "en")
    messages_for(bot, fake_line, "Ucalmyes", CALM_QUESTION["en"])
    assert cases_of(services, "Ucalmyes") == []
    texts = bot.tap("Ucalmyes", "cmd:person")
    [case] = cases_of(services, "Ucalmyes")
    assert case.priority == "normal"
    assert any("closed now" in text and "09:00" in text for text in texts), texts


def test_an_emergency_in_opening_hours_says_a_person_is_told(bot, services, fake_line, monkeypatch):
    monday_morning = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)         # Monday 10:00 in Tokyo
    monkeypatch.setattr(services, "clock", fixed_clock(monday_morning))
    start_in_matsudo(bot, "Uopen", "vi")
    texts = [m["text"] for m in messages_for(bot, fake_line, "Uopen", EMERGENCY["vi"])]
    catalog = services.content.current().catalog
    assert catalog.text("vi", "danger.desk_open", minutes=10) in texts
    assert len([t for t in texts if "119" in t]) >= 1


def test_no_consent_emergency_still_gets_numbers_and_call_buttons(bot, fake_line):
    bot.follow("Unoconsent", language="th", agree=False)
    urgent = messages_for(bot, fake_line, "Unoconsent", "อยู่บ้านคนเดียว หัวเด็กออกมาแล้ว")      # a birth now
    assert "119" in urgent[0]["text"]
    calls = [a["uri"] for a in quick_actions(urgent[-1]) if a["type"] == "uri"]
    assert calls[0] == "tel:119" and "tel:%238000" not in calls          # a birth is 119, never the night line
    assert any(a.get("data") == "privacy:agree" for a in quick_actions(urgent[-1]))


@pytest.mark.parametrize("locale", LOCALES)
def test_not_sure_about_the_ambulance_gets_the_adult_line_first(bot, services, fake_line, sunday_in_japan, locale):
    """Issue 11: a calm question gets the number that can judge it at once (#7119 in Chiba), 119 for
    the danger signs, and a person offered; no case is opened."""
    user_id = f"Uunsure{locale.replace('-', '')}"
    start_in_matsudo(bot, user_id, locale)
    answer = messages_for(bot, fake_line, user_id, UNSURE_AMBULANCE[locale])
    first = answer[0]["text"]
    assert "#7119" in first and first.index("#7119") < first.index("119 "), first
    offer = quick_actions(answer[-1])
    assert offer[0]["uri"] == f"tel:{CHIBA_ADULT_LINE.replace('-', '')}"        # the button calls Chiba's #7119
    assert any(a.get("data") == "cmd:person" for a in offer)
    assert cases_of(services, user_id) == []
