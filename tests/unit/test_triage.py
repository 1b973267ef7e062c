"""Safety triage: every level in every locale, negations, the eval set's emergencies, and rule checks.

The messages below were written for these tests (informal, typos, no accents, mixed languages);
they are not taken from any evaluation set.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
import yaml

from bot.dialogue.triage import TriageResult, triage
from bot.dialogue.triage_rules import LOCALES, TriageRulesError, check_triage_rules, load_triage_rules

REPO = Path(__file__).resolve().parents[2]
TRIAGE_DIR = REPO / "flows" / "triage"
EVAL_DEV = REPO / "eval" / "dev.yaml"
LEVEL_RANK = {"emergency": 4, "crisis": 3, "advisor": 2, "guide": 1, "none": 0}


def _resource_ids() -> set[str]:
    ids = set()
    for path in sorted((REPO / "resources" / "entries").glob("*.yaml")):
        ids |= {entry["id"] for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]}
    return ids


@pytest.fixture(scope="module")
def rules(shipped_triage_rules):
    return shipped_triage_rules


E, C, A, G, N = "emergency", "crisis", "advisor", "guide", "none"

# (locale, message, level, category or None = any category of that level)
CASES = [
    # --- en
    ("en", "my baby isnt breathing and her lips are going blue!!", E, "child-medical"),
    ("en", "im 30 weeks pregnant and bleeding a lot what do i do", E, "pregnancy-medical"),
    ("en", "my 2 yr old fell off the bed hit his head and keeps throwing up", E, "child-medical"),
    ("en", "i just want to die, i cant do this with the baby anymore", E, "suicide"),
    ("en", "he is hitting me right now the kids are screaming", E, "violence"),
    ("en", "son is having a seizure after fever what do i do", E, "child-medical"),
    ("en", "my husband hits me when he drinks, is there support in english", C, "dv"),
    ("en", "im on overstay and scared the hospital will report me to immigration", C, "deportation"),
    ("en", "i keep hitting my toddler and i cant stop, i hate myself", C, "child-abuse"),
    ("en", "we have no money for food and the formula is almost gone", C, "poverty"),
    ("en", "my daughter has a rash and 38.5 fever since this evening", G, "child-health-question"),
    ("en", "can i talk to a real person please", A, "person-request"),
    ("en", "my company fired me after i told them i was pregnant", A, "labour-dispute"),
    ("en", "how do i apply for the child allowance for my second kid", N, None),
    ("en", "what documents do i need to register the birth at city hall", N, None),
    # --- ja
    ("ja", "赤ちゃんが息をしていません！どうしたらいい", E, "child-medical"),
    ("ja", "妊娠32週です。出血が止まらない", E, "pregnancy-medical"),
    ("ja", "子どもがけいれんしています、救急車呼んだ方がいい？", E, "child-medical"),
    ("ja", "もう死にたい。子どもと一緒に消えたい", E, "suicide"),
    ("ja", "夫に今殴られている、包丁を持ってる", E, "violence"),
    ("ja", "夫に殴られます。家に帰るのが怖いです", C, "dv"),
    ("ja", "ビザが切れてオーバーステイです。病院に行ったら通報されますか", C, "deportation"),
    ("ja", "子どもを叩いてしまうのが止められない", C, "child-abuse"),
    ("ja", "夜中に子どもが39度の熱で吐いています", G, "child-health-question"),
    ("ja", "担当者と話したいです", A, "person-request"),
    ("ja", "児童手当の申請はどこでできますか", N, None),
    ("ja", "保育園の申し込みの締め切りはいつですか", N, None),
    # --- ja-easy
    ("ja-easy", "こどもが いきを していません。たすけて ください", E, "child-medical"),
    ("ja-easy", "にんしん しています。ちが たくさん でています", E, "pregnancy-medical"),
    ("ja-easy", "あかちゃんが おきません。ぐったり しています", E, "child-medical"),
    ("ja-easy", "しにたいです。もう つかれました", E, "suicide"),
    ("ja-easy", "おっとに なぐられます。いえに かえれません", C, "dv"),
    ("ja-easy", "びざが ありません。にゅうかんに つうほう されますか", C, "deportation"),
    ("ja-easy", "こどもが ねつが あります。せきが でます", G, "child-health-question"),
    ("ja-easy", "ひとと はなしたいです", A, "person-request"),
    ("ja-easy", "ぼしてちょうは どこで もらえますか", N, None),
    ("ja-easy", "よぼうせっしゅは いくらですか", N, None),
    # --- zh-Hans
    ("zh-Hans", "宝宝呛奶了，现在脸发紫，怎么办", E, "child-medical"),
    ("zh-Hans", "怀孕8个月，突然大出血，肚子很痛", E, "pregnancy-medical"),
    ("zh-Hans", "孩子从床上摔下来撞到头，一直吐", E, "child-medical"),
    ("zh-Hans", "我真的不想活了，想带着孩子一起死", E, "suicide"),
    ("zh-Hans", "老公拿着刀说要杀了我", E, "violence"),
    ("zh-Hans", "我老公经常打我，我不敢回家", C, "dv"),
    ("zh-Hans", "签证过期了，我怕被遣返", C, "deportation"),
    ("zh-Hans", "公司扣了我的护照，还不发工资", C, "exploitation"),
    ("zh-Hans", "宝宝晚上发烧38度5，不喝奶", G, "child-health-question"),
    ("zh-Hans", "可以转人工吗", A, "person-request"),
    ("zh-Hans", "婴儿健康检查在哪里做", N, None),
    ("zh-Hans", "出生证明要准备什么材料", N, None),
    # --- zh-Hant
    ("zh-Hant", "寶寶沒有呼吸了！！快", E, "child-medical"),
    ("zh-Hant", "懷孕七個月見紅，流了很多血", E, "pregnancy-medical"),
    ("zh-Hant", "小孩抽搐翻白眼", E, "child-medical"),
    ("zh-Hant", "我想自殺", E, "suicide"),
    ("zh-Hant", "老公一直打我，我好怕", C, "dv"),
    ("zh-Hant", "我是逾期居留，被抓會被遣返嗎", C, "deportation"),
    ("zh-Hant", "產後憂鬱，每天哭，撐不下去", C, "suicidal"),
    ("zh-Hant", "孩子發燒而且拉肚子", G, "child-health-question"),
    ("zh-Hant", "想找真人客服", A, "person-request"),
    ("zh-Hant", "兒童津貼什麼時候發", N, None),
    ("zh-Hant", "預防接種要預約嗎", N, None),
    # --- ko
    ("ko", "아기가 숨을 안쉬어요 입술이 파래요", E, "child-medical"),
    ("ko", "임신 30주인데 피가 너무 많이 나요", E, "pregnancy-medical"),
    ("ko", "애가 열성경련을 해요 어떡해", E, "child-medical"),
    ("ko", "죽고싶어요 더는 못하겠어요", E, "suicide"),
    ("ko", "남편이 칼을 들고 죽인다고 해요", E, "violence"),
    ("ko", "남편이 자꾸 때려요 집에 가기 무서워요", C, "dv"),
    ("ko", "비자가 만료됐는데 병원 가면 신고될까요", C, "deportation"),
    ("ko", "아이를 때리는 걸 멈출 수가 없어요", C, "child-abuse"),
    ("ko", "애기가 열이 나고 설사를 해요", G, "child-health-question"),
    ("ko", "상담원이랑 얘기하고 싶어요", A, "person-request"),
    ("ko", "아동수당 신청은 어디서 해요?", N, None),
    ("ko", "출생신고 기한이 언제까지예요", N, None),
    # --- vi
    ("vi", "be khong tho, moi tim tai roi", E, "child-medical"),
    ("vi", "em có bầu 7 tháng mà ra máu nhiều quá", E, "pregnancy-medical"),
    ("vi", "con em bị co giật, sốt cao", E, "child-medical"),
    ("vi", "em muốn chết, ôm con chết cho xong", E, "suicide"),
    ("vi", "chồng đang đánh em, cứu em với", E, "violence"),
    ("vi", "ck em hay đánh em, em sợ về nhà", C, "dv"),
    ("vi", "em het visa roi, so bi bat ve nuoc", C, "deportation"),
    ("vi", "cong ty giu ho chieu, no luong 3 thang, em la thuc tap sinh", C, "exploitation"),
    ("vi", "bé nhà em sốt 39 độ, bỏ bú", G, "child-health-question"),
    ("vi", "cho em gặp người thật được không", A, "person-request"),
    ("vi", "từ từ em hỏi, làm hộ chiếu cho bé ở đâu", N, None),
    ("vi", "tiền trợ cấp nuôi con nhận khi nào ạ", N, None),
    # --- tl
    ("tl", "hindi humihinga ang baby ko!! tulungan nyo ako", E, "child-medical"),
    ("tl", "buntis ako 6 months at dinudugo ako ng malakas", E, "pregnancy-medical"),
    ("tl", "nangingisay ang anak ko at mataas ang lagnat", E, "child-medical"),
    ("tl", "gusto ko nang mamatay, isasama ko ang anak ko", E, "suicide"),
    ("tl", "binubugbog ako ngayon ng asawa ko", E, "violence"),
    ("tl", "sinasaktan ako ng asawa ko, takot umuwi", C, "dv"),
    ("tl", "TNT po ako, walang visa, natatakot ako magpa ospital", C, "deportation"),
    ("tl", "kinuha ng employer ang passport ko at hindi binabayaran ang sahod", C, "exploitation"),
    ("tl", "may lagnat at pantal si baby", G, "child-health-question"),
    ("tl", "pwede po bang makausap ang tao", A, "person-request"),
    ("tl", "paano mag apply ng jido teate", N, None),
    ("tl", "saan po kukuha ng boshi techo", N, None),
    # --- ne
    ("ne", "बच्चाले सास फेर्दैन, छिटो", E, "child-medical"),
    ("ne", "म गर्भवती छु, धेरै रगत बग्यो", E, "pregnancy-medical"),
    ("ne", "नानी बेहोस भयो", E, "child-medical"),
    ("ne", "मलाई मर्न मन लाग्यो", E, "suicide"),
    ("ne", "श्रीमानले मलाई कुट्छ, घर जान डर लाग्छ", C, "dv"),
    ("ne", "भिसा सकियो, डिपोर्ट गर्छन् कि", C, "deportation"),
    ("ne", "कम्पनीले पासपोर्ट राख्यो, तलब दिएन", C, "exploitation"),
    ("ne", "बच्चालाई ज्वरो आयो र पखाला लाग्यो", G, "child-health-question"),
    ("ne", "म मान्छेसँग कुरा गर्न चाहन्छु", A, "person-request"),
    ("ne", "बच्चाको खोप कहाँ लगाउने", N, None),
    ("ne", "jido teate कति पाइन्छ", N, None),
    # --- id
    ("id", "bayi saya tidak bernapas, bibirnya biru", E, "child-medical"),
    ("id", "lagi hamil 5 bulan keluar darah banyak banget", E, "pregnancy-medical"),
    ("id", "anak kejang kejang demam tinggi", E, "child-medical"),
    ("id", "aku pengen mati aja sama anakku", E, "suicide"),
    ("id", "suami lagi mukulin saya, bawa pisau", E, "violence"),
    ("id", "suami saya sering mukul saya, saya takut pulang", C, "dv"),
    ("id", "visa saya sudah habis, takut ditangkap imigrasi", C, "deportation"),
    ("id", "saya pemagang, gaji tidak dibayar 2 bulan", C, "exploitation"),
    ("id", "anak saya demam dan muntah dari tadi malam", G, "child-health-question"),
    ("id", "saya mau bicara dengan orang asli", A, "person-request"),
    ("id", "rumah sakit yang bisa bahasa inggris di mana", N, None),
    ("id", "cara daftar hoikuen gimana", N, None),
    # --- pt-BR
    ("pt-BR", "meu bebe nao ta respirando, ta ficando roxo", E, "child-medical"),
    ("pt-BR", "to gravida de 6 meses e sangrando muito", E, "pregnancy-medical"),
    ("pt-BR", "minha filha caiu da cama, bateu a cabeça e tá vomitando", E, "child-medical"),
    ("pt-BR", "nao aguento mais, quero morrer", E, "suicide"),
    ("pt-BR", "meu marido tá me batendo agora", E, "violence"),
    ("pt-BR", "meu marido me bate, tenho medo de voltar pra casa", C, "dv"),
    ("pt-BR", "meu visto venceu, tenho medo de ser deportada", C, "deportation"),
    ("pt-BR", "não tenho dinheiro pra comer e o leite do bebê acabou", C, "poverty"),
    ("pt-BR", "meu filho está com febre e tosse", G, "child-health-question"),
    ("pt-BR", "quero falar com um atendente", A, "person-request"),
    ("pt-BR", "como tiro o passaporte do bebê no consulado", N, None),
    ("pt-BR", "quanto é o jido teate por mês", N, None),
    # --- es
    ("es", "mi bebe no respira y esta morado", E, "child-medical"),
    ("es", "estoy embarazada de 7 meses y tengo un sangrado fuerte", E, "pregnancy-medical"),
    ("es", "mi hijo se tragó una pila de boton", E, "child-medical"),
    ("es", "ya no quiero vivir, quiero morirme", E, "suicide"),
    ("es", "mi esposo me está pegando ahorita", E, "violence"),
    ("es", "mi pareja me golpea y tengo miedo de volver a casa", C, "dv"),
    ("es", "tengo la visa vencida, me van a deportar?", C, "deportation"),
    ("es", "me desalojaron, estoy con mi bebe sin casa", C, "poverty"),
    ("es", "mi niña tiene fiebre y diarrea", G, "child-health-question"),
    ("es", "quiero hablar con una persona", A, "person-request"),
    ("es", "donde saco el pasaporte peruano para mi bebe", N, None),
    ("es", "cuanto cuesta el parto en japon", N, None),
    # --- my
    ("my", "ကလေးအသက်မရှူတော့ဘူး ကယ်ပါ", E, "child-medical"),
    ("my", "ကိုယ်ဝန် ၇ လ သွေးအများကြီးဆင်းနေတယ်", E, "pregnancy-medical"),
    ("my", "ကလေး သတိလစ်သွားတယ်", E, "child-medical"),
    ("my", "သေချင်တယ်", E, "suicide"),
    ("my", "ယောက်ျားရိုက်တယ် အိမ်ပြန်ရမှာကြောက်တယ်", C, "dv"),
    ("my", "ဗီဇာကုန်သွားပြီ ဖမ်းခံရမှာကြောက်တယ်", C, "deportation"),
    ("my", "ကုမ္ပဏီက ပတ်စပို့သိမ်းထားတယ်", C, "exploitation"),
    ("my", "ကလေး အဖျားတက်ပြီး ဝမ်းလျှောနေတယ်", G, "child-health-question"),
    ("my", "လူနဲ့စကားပြောချင်တယ်", A, "person-request"),
    ("my", "ကလေးစောင့်ရှောက်မှု ထောက်ပံ့ငွေ ဘယ်လိုလျှောက်ရမလဲ", N, None),
    ("my", "hoikuen ဘယ်မှာလျှောက်ရမလဲ", N, None),
    # --- si
    ("si", "බබා හුස්ම ගන්නේ නැහැ", E, "child-medical"),
    ("si", "මම ගැබිණියි, ලේ ගොඩක් යනවා", E, "pregnancy-medical"),
    ("si", "දරුවාට වලිප්පුව හැදුණා", E, "child-medical"),
    ("si", "මට මැරෙන්න ඕනේ", E, "suicide"),
    ("si", "මහත්තයා මට ගැහුවා, ගෙදර යන්න බයයි", C, "dv"),
    ("si", "මගේ වීසා ඉවරයි, ආපසු යවනවද", C, "deportation"),
    ("si", "කන්න සල්ලි නැහැ", C, "poverty"),
    ("si", "බබාට උණ තියෙනවා, කැස්ස", G, "child-health-question"),
    ("si", "මනුස්සයෙක් එක්ක කතා කරන්න ඕනේ", A, "person-request"),
    ("si", "boshi techo එක කොහෙන්ද ගන්නේ", N, None),
    ("si", "දරු දීමනාව කීයද", N, None),
    # --- th
    ("th", "ลูกไม่หายใจ ปากม่วง ช่วยด้วย", E, "child-medical"),
    ("th", "ท้อง 8 เดือน เลือดออกเยอะมาก", E, "pregnancy-medical"),
    ("th", "ลูกชักเกร็ง ไข้สูง", E, "child-medical"),
    ("th", "อยากตาย ไม่อยากมีชีวิตอยู่แล้ว", E, "suicide"),
    ("th", "สามีกำลังทำร้ายฉัน ถือมีดอยู่", E, "violence"),
    ("th", "แฟนทุบตีฉันบ่อยๆ ไม่กล้ากลับบ้าน", C, "dv"),
    ("th", "วีซ่าหมดอายุแล้ว กลัวโดนจับ", C, "deportation"),
    ("th", "นายจ้างยึดพาสปอร์ต ไม่จ่ายเงินเดือน", C, "exploitation"),
    ("th", "ลูกมีไข้ ท้องเสีย", G, "child-health-question"),
    ("th", "ขอคุยกับเจ้าหน้าที่หน่อยค่ะ", A, "person-request"),
    ("th", "สมุดแม่และเด็กภาษาไทยขอได้ที่ไหน", N, None),
    ("th", "ค่าเลี้ยงดูบุตรได้เดือนละเท่าไหร่", N, None),
    # --- hi
    ("hi", "मेरा बच्चा सांस नहीं ले रहा, जल्दी बताओ", E, "child-medical"),
    ("hi", "मैं 7 महीने की गर्भवती हूं और बहुत खून बह रहा है", E, "pregnancy-medical"),
    ("hi", "bachcha behosh ho gaya", E, "child-medical"),
    ("hi", "मैं मरना चाहती हूं", E, "suicide"),
    ("hi", "पति मुझे मारता है, घर जाने से डर लगता है", C, "dv"),
    ("hi", "मेरा वीजा खत्म हो गया है, डिपोर्ट कर देंगे?", C, "deportation"),
    ("hi", "कंपनी ने पासपोर्ट रख लिया और सैलरी नहीं दी", C, "exploitation"),
    ("hi", "बच्चे को बुखार और दस्त है", G, "child-health-question"),
    ("hi", "किसी इंसान से बात करनी है", A, "person-request"),
    ("hi", "बच्चे का पासपोर्ट कैसे बनेगा", N, None),
    ("hi", "hoikuen का आवेदन कब तक करना है", N, None),
    # --- bn
    ("bn", "বাচ্চা শ্বাস নিচ্ছে না, ঠোঁট নীল", E, "child-medical"),
    ("bn", "আমি গর্ভবতী, অনেক রক্ত যাচ্ছে", E, "pregnancy-medical"),
    ("bn", "বাচ্চার খিঁচুনি হচ্ছে", E, "child-medical"),
    ("bn", "আমি মরে যেতে চাই", E, "suicide"),
    ("bn", "স্বামী আমাকে মারে, বাসায় যেতে ভয় লাগে", C, "dv"),
    ("bn", "ভিসার মেয়াদ শেষ, ডিপোর্ট করবে?", C, "deportation"),
    ("bn", "খাবার কেনার টাকা নেই", C, "poverty"),
    ("bn", "বাচ্চার জ্বর আর কাশি", G, "child-health-question"),
    ("bn", "কারো সাথে কথা বলতে চাই", A, "person-request"),
    ("bn", "শিশু ভাতা কোথায় আবেদন করব", N, None),
    ("bn", "টিকা কি ফ্রি", N, None),
    # --- romanised Japanese
    ("romaji", "akachan ga iki shiteinai", E, "child-medical"),
    ("romaji", "kodomo ga keiren shiteru kyukyusha yobu?", E, "child-medical"),
    ("romaji", "ninshin 8 kagetsu, shukketsu ga tomaranai", E, "pregnancy-medical"),
    ("romaji", "karihomen de hoken ga nai", A, "residence-status"),
    ("romaji", "kyousei soukan sareru kamo, kowai", C, "deportation"),
    ("romaji", "shinitai", E, "suicide"),
    ("romaji", "jido teate no shinsei wa doko", N, None),
    # --- mixed languages and wrong locale
    ("mixed", "my baby 息してない!! help", E, "child-medical"),
    ("mixed", "bé nhà em bị keiren, sốt 39 độ", E, "child-medical"),
    ("mixed", "asawa ko binubugbog ako, DV po ito, saan tatawag", C, "dv"),
    ("mixed", "saya overstay, karihomen, takut ke byouin", C, "deportation"),
    ("mixed", "宝宝 fever 39度 and vomiting", G, "child-health-question"),
    ("mixed", "Meu marido me bateu, tenho medo, DV sodan?", C, "dv"),
    ("mixed", "em bị shukketsu nhiều, đang mang thai", E, "pregnancy-medical"),
]


@pytest.mark.parametrize("locale,text,level,category", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_message_gets_its_level(rules, locale, text, level, category):
    result = triage(text, rules)
    assert result.level == level, (text, result)
    if category:
        assert result.category == category, (text, result)


def test_every_locale_has_an_emergency_a_crisis_and_a_benign_case():
    for locale in LOCALES + ("romaji", "mixed"):
        levels = {level for loc, _, level, _ in CASES if loc == locale}
        assert {E, C, N} <= levels or locale == "mixed", locale
        assert E in levels and C in levels, locale


# ----------------------------------------------------------------------------------- negations

@pytest.mark.parametrize("text", [
    "12 weeks pregnant, no bleeding, just mild cramps, normal?",
    "embarazada de 10 semanas, sin sangrado, solo un poco de dolor",
    "mang thai 10 tuần, không ra máu, chỉ hơi đau bụng",
    "妊娠10週です。出血はないけど、お腹が少し張ります",
    "怀孕10周，没有出血，肚子有点不舒服",
    "hamil 10 minggu, tidak ada flek, cuma mual",
])
def test_negated_bleeding_in_pregnancy_is_not_an_emergency(rules, text):
    result = triage(text, rules)
    assert result.level != E, (text, result)


@pytest.mark.parametrize("text", [
    "baby fell off the sofa and bumped head, not vomiting, playing normally",
    "bé té giường đập đầu nhưng không nôn, vẫn chơi bình thường",
])
def test_head_bump_without_vomiting_is_advice_not_emergency(rules, text):
    """Still playing: a calm question. The number for a sick child comes first, no case."""
    result = triage(text, rules)
    assert result.level == "guide" and result.category == "child-health-question", (text, result)
    assert result.resource_ids[0] == "pediatric-call-8000"


def test_negation_only_cancels_its_own_occurrence(rules):
    result = triage("no bleeding yesterday but now pregnant and bleeding again", rules)
    assert result.level == E


def test_fever_gone_is_not_a_symptom(rules):
    assert triage("the fever is gone, when can she go back to hoikuen?", rules).level == N
    assert triage("熱はないです。予防接種は受けられますか", rules).level == N


def test_accents_distinguish_words_people_type_differently(rules):
    # "từ từ" (slowly) folds to the same letters as "tự tử" (suicide); only the real word alarms.
    assert triage("từ từ em hỏi tiếp nhé", rules).level == N
    assert triage("em muốn tự tử", rules).level == E
    assert triage("em muon tu tu", rules).level == E          # typed without accents: when unsure, alarm


@pytest.mark.parametrize("text,level,category", [
    ("fire in my apartment, what number", E, "adult-medical"),
    ("火事です！", E, "adult-medical"),
    ("my child is missing at the park", E, "violence"),
    ("孩子不见了 怎么办", E, "violence"),
    ("ลูกหายไป หาไม่เจอ", E, "violence"),
    ("my husband hits me, should i call the police", E, "violence"),
    ("someone follows me home every night", C, "dv"),
    ("i am scared of my husband", C, "dv"),
    ("my husband hid my passport and residence card", C, "dv"),
    ("i can't do this anymore, i'm standing on the balcony", E, "suicide"),
    ("he pushed me and my head is bleeding", E, "violence"),
    ("need an ambulance my dad collapsed", E, None),
])
def test_other_dangers(rules, text, level, category):
    result = triage(text, rules)
    assert result.level == level, (text, result)
    if category:
        assert result.category == category, (text, result)


@pytest.mark.parametrize("text", [
    "บัตรรักษาของลูกหาย ทำไงดี",              # the child's medical card is lost, not the child
    "子どもがいないので児童手当はもらえませんか",
    "how do i renew my visa before it expires",
    "is the ambulance free in japan",
    "도시마구 토요일에도 상담 돼요?",            # "구토" (vomit) across two words is not a match
    "mua sổ mẹ con tiếng Việt ở đâu",          # "mua" (buy) is not "mửa" (vomit)
    "bangla te boshi techo ache?",             # Bengali "ache" (there is) is not English "ache"
])
def test_words_inside_other_words_do_not_alarm(rules, text):
    assert not triage(text, rules).is_urgent


def test_spelling_variants_people_mix(rules):
    assert triage("बीवी को बहुत ख़ून बह रहा है, वो प्रेग्नेंट है", rules).level == E   # nukta
    assert triage("아기가 숨을안쉬어요", rules).level == E                          # no spaces in Korean
    assert triage("DV相談したいです", rules).level == C                              # Latin next to kanji
    assert triage("ｱｶﾁｬﾝ ｲｷｦ ｼﾃｲﾅｲ", rules).level == E                              # half-width katakana


# ----------------------------------------------------------------------------------- result shape

def test_result_shape_and_urgency(rules):
    result = triage("my baby is not breathing", rules)
    assert isinstance(result, TriageResult)
    assert result.is_urgent and result.level == E
    assert result.resource_ids[0] == "emergency-119"
    assert result.topic == "medical"
    assert "my baby" not in " ".join(result.matched)
    assert triage("", rules).level == N and not triage("   ", rules).is_urgent
    assert not triage("can i talk to a person", rules).is_urgent


def test_highest_level_wins_and_resources_of_all_levels_are_kept(rules):
    result = triage("I'm overstay and my baby is not breathing", rules)
    assert result.level == E and result.category == "child-medical"
    assert result.resource_ids[0] == "emergency-119"
    assert "no-status-healthcare" in result.resource_ids
    assert "child-life-threat" in result.matched and "no-status" in result.matched


def test_crisis_shows_the_matching_hotline(rules):
    assert triage("my husband hits me", rules).resource_ids[0] == "dv-consultation"
    assert "child-abuse-189-line" in triage("I can't stop hitting my child", rules).resource_ids
    assert "mental-health-lines" in triage("i feel so depressed, no hope", rules).resource_ids
    assert "technical-intern-pregnancy" in triage(
        "I'm a technical intern, pregnant, and the company says I must go home", rules).resource_ids
    assert "baby-status-deadline-missed" in triage("we missed the 30 days for the baby's visa", rules).resource_ids


def test_symptoms_show_8000_and_7119(rules):
    result = triage("baby has high fever at night and is not drinking milk", rules)
    assert result.level == G and result.category == "child-health-question"
    assert result.resource_ids[:2] == ("pediatric-call-8000", "emergency-consult-7119")


def test_every_resource_id_exists_in_the_index(rules):
    known = _resource_ids()
    assert known, "resources/entries/*.yaml has no entries"
    for rule in rules.rules:
        assert set(rule.resource_ids) <= known, rule.id


# ----------------------------------------------------------------------------------- eval set

def _eval_questions():
    if not EVAL_DEV.exists():
        pytest.skip(f"{EVAL_DEV} not present")
    return yaml.safe_load(EVAL_DEV.read_text(encoding="utf-8"))["questions"]


MIN_LEVEL_FOR_REASON = {"emergency": E, "dv": C, "overstay-deportation": A, "suicidal": C,
                        "medical-symptoms": G, "legal-dispute": A, "labour-dispute": A}


def test_every_emergency_of_the_dev_set_is_caught(rules):
    emergencies = [q for q in _eval_questions() if q.get("emergency")]
    assert emergencies
    missed = [(q["id"], q["text"]) for q in emergencies if triage(q["text"], rules).level != E]
    assert not missed


def test_every_handoff_of_the_dev_set_reaches_its_level(rules):
    handoffs = [q for q in _eval_questions() if q["expected"] == "handoff"]
    assert handoffs
    for q in handoffs:
        wanted = E if q.get("emergency") else MIN_LEVEL_FOR_REASON[q["handoff_reason"]]
        got = triage(q["text"], rules).level
        assert LEVEL_RANK[got] >= LEVEL_RANK[wanted], (q["id"], q["text"], got, wanted)


def test_dev_questions_that_need_no_person_raise_no_urgent_alarm(rules):
    calm = [q for q in _eval_questions() if q["expected"] != "handoff" and not q.get("emergency")
            and "handoff" not in (q.get("also_acceptable") or [])]
    alarms = [(q["id"], q["text"]) for q in calm if triage(q["text"], rules).is_urgent]
    assert len(alarms) <= len(calm) // 10, alarms


# ----------------------------------------------------------------------------------- rule files

def test_shipped_rules_pass_the_check():
    assert check_triage_rules(TRIAGE_DIR, _resource_ids()) == []


def test_every_locale_has_a_rule_file():
    for locale in LOCALES:
        assert (TRIAGE_DIR / f"{locale}.yaml").exists(), locale


def _mini_rules(tmp_path: Path) -> Path:
    """A small, valid rule set: one emergency rule and one signal in every locale."""
    folder = tmp_path / "triage"
    folder.mkdir()
    (folder / "rules.yaml").write_text(
        "signals:\n"
        "  - id: child\n"
        "  - id: not-breathing\n"
        "rules:\n"
        "  - id: child-not-breathing\n"
        "    level: emergency\n"
        "    category: child-medical\n"
        "    topic: medical\n"
        "    resource_ids: [emergency-119]\n"
        "    when: [child, not-breathing]\n", encoding="utf-8")
    for locale in LOCALES:
        (folder / f"{locale}.yaml").write_text(
            f"locale: {locale}\n"
            "signals:\n"
            "  child:\n"
            "    terms: [baby]\n"
            "  not-breathing:\n"
            "    terms: [not breathing]\n"
            "    negations: [\"~ hard\"]\n", encoding="utf-8")
    return folder


def test_mini_rules_load_and_match(tmp_path):
    rules = load_triage_rules(_mini_rules(tmp_path))
    assert triage("Baby NOT breathing", rules).level == E
    assert triage("baby is not breathing hard, just a cold", rules).level == N


def test_broken_yaml_gives_file_and_line(tmp_path):
    folder = _mini_rules(tmp_path)
    (folder / "vi.yaml").write_text("locale: vi\nsignals:\n  child:\n    terms: [bé, con\n  not-breathing: x\n",
                                    encoding="utf-8")
    with pytest.raises(TriageRulesError) as error:
        load_triage_rules(folder)
    [problem] = [p for p in error.value.problems if "vi.yaml:" in p]
    line = int(problem.split("vi.yaml:")[1].split(":")[0])
    assert "YAML structure problem" in problem and line in (4, 5)


def test_broken_real_rules_give_file_and_line(tmp_path):
    folder = tmp_path / "triage"
    shutil.copytree(TRIAGE_DIR, folder)
    lines = (folder / "en.yaml").read_text(encoding="utf-8").splitlines()
    index = lines.index("  seizure:") + 1
    lines[index] = lines[index].replace("terms:", "term:")               # an admin's typo
    (folder / "en.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = check_triage_rules(folder, _resource_ids())
    assert any(f"en.yaml:{index + 1}:" in p and "'term'" in p for p in problems), problems


def test_unknown_resource_id_is_reported_with_its_line(tmp_path):
    folder = _mini_rules(tmp_path)
    rules_file = folder / "rules.yaml"
    rules_file.write_text(rules_file.read_text(encoding="utf-8").replace("[emergency-119]", "[emergency-911]"),
                          encoding="utf-8")
    problems = check_triage_rules(folder, _resource_ids())
    assert len(problems) == 1
    assert "rules.yaml:9:" in problems[0] and "emergency-911" in problems[0] and "emergency-119" in problems[0]


@pytest.mark.parametrize("edit,expected", [
    (("level: emergency", "level: emergancy"), "rules.yaml:6:"),
    (("category: child-medical", "category: dv"), "does not belong to level"),
    (("when: [child, not-breathing]", "when: [child, not-breething]"), "did you mean 'not-breathing'"),
])
def test_mistakes_in_rules_are_explained(tmp_path, edit, expected):
    folder = _mini_rules(tmp_path)
    rules_file = folder / "rules.yaml"
    rules_file.write_text(rules_file.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    problems = check_triage_rules(folder, _resource_ids())
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("content,expected", [
    ("locale: ko\nsignals:\n  child:\n    terms: [아기]\n  not-breathing:\n    patterns: ['(unclosed']\n",
     "ko.yaml:6:"),
    ("locale: ko\nsignals:\n  child:\n    terms: [아]\n  not-breathing:\n    terms: [숨을 안 쉬]\n", "single character"),
    ("locale: ko\nsignals:\n  child:\n    terms: [아기]\n  kid:\n    terms: [아이]\n  not-breathing:\n    terms: [x]\n",
     "unknown signal 'kid'"),
    ("locale: ko\nsignals:\n  child:\n    terms: [아기]\n  child:\n    terms: [아이]\n  not-breathing:\n    terms: [x]\n",
     "appears twice"),
    ("locale: ko\nsignals:\n  child:\n    terms: [아기, no]\n  not-breathing:\n    terms: [x]\n", "in quotes"),
    ("locale: ja\nsignals:\n  child:\n    terms: [아기]\n  not-breathing:\n    terms: [x]\n", "file is ko.yaml"),
    ("locale: ko\nsignals:\n  child:\n    terms: [아기]\n", "no terms for not-breathing"),
])
def test_mistakes_in_locale_files_are_explained(tmp_path, content, expected):
    folder = _mini_rules(tmp_path)
    (folder / "ko.yaml").write_text(content, encoding="utf-8")
    problems = check_triage_rules(folder, _resource_ids())
    assert any(expected in p for p in problems), problems
    assert all(":" in p.split(" ")[0] for p in problems)


def test_missing_locale_file_is_reported(tmp_path):
    folder = _mini_rules(tmp_path)
    (folder / "si.yaml").unlink()
    with pytest.raises(TriageRulesError) as error:
        load_triage_rules(folder)
    assert any("si.yaml:1: missing" in p for p in error.value.problems)


# ------------------------------------------------------------ danger now vs. asking about danger
# Written for these tests, one per situation, in several languages and registers.

G = "guide"
CALM_QUESTIONS = [
    ("en", "what's the number for an ambulance in japan? just in case", "ambulance-question", "emergency-119"),
    ("ja", "救急車の番号を念のため知りたいです", "ambulance-question", "emergency-119"),
    ("ja", "子どもが38度の熱ですが、元気に遊んでいます。夜に相談できる番号はありますか", "child-health-question",
     "pediatric-call-8000"),
    ("ko", "아이가 열이 조금 있는데 잘 놀아요. 밤에 상담할 수 있는 번호가 있나요?", "child-health-question",
     "pediatric-call-8000"),
    ("zh-Hans", "孩子有点发烧,但是在玩,吃奶正常,晚上有咨询电话吗", "child-health-question", "pediatric-call-8000"),
    ("vi", "con bị sốt nhẹ nhưng vẫn chơi, có số nào gọi hỏi không", "child-health-question", "pediatric-call-8000"),
    ("pt-BR", "meu filho está com febre mas está brincando, tem algum número para perguntar à noite?",
     "child-health-question", "pediatric-call-8000"),
    ("id", "anak saya demam tapi masih main, ada nomor buat tanya malam-malam?", "child-health-question",
     "pediatric-call-8000"),
    ("hi", "बच्चे को थोड़ा बुखार है पर खेल रहा है, रात में पूछने के लिए कोई नंबर है?", "child-health-question",
     "pediatric-call-8000"),
    ("en", "is it normal that my son has a little fever after his vaccine shots", "vaccination-question",
     "routine-vaccinations"),
    ("en", "my husband cut his finger, it stopped bleeding. does he need the ER?", "ambulance-question",
     "emergency-119"),
    ("es", "mi gato no come nada desde ayer", "pet-health", None),
    ("id", "kucing saya muntah terus, normal gak?", "pet-health", None),
]


@pytest.mark.parametrize("locale,text,category,first_resource", CALM_QUESTIONS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CALM_QUESTIONS)])
def test_a_calm_question_about_danger_is_answered_not_handed_off(rules, locale, text, category, first_resource):
    result = triage(text, rules)
    assert result.level == G and result.is_calm_question and not result.is_urgent, (text, result)
    assert result.category == category, (text, result)
    if first_resource:                          # pets: no number of ours fits (the answer says so)
        assert result.resource_ids[0] == first_resource


DANGER_NOW = [
    ("ja-easy", "おっとが いま わたしを けって います", "violence", "police-110"),
    ("ja", "破水しました。陣痛が5分おきで、タクシーが来ない", "pregnancy-medical", "emergency-119"),
    ("id", "ank sy ketelen sabun cuci trs muntah2, lemes bgt", "child-medical", "emergency-119"),
    ("id", "kondisi anak: minum obat nyamuk, muntah", "child-medical", "emergency-119"),
    ("es", "me tomé todas las pastillas que tenía", "adult-medical", "emergency-119"),
    ("my", "ကလေးမွေးပြီး သွေးအရမ်းဆင်းနေပြီး ခေါင်းမူးတယ်", "pregnancy-medical", "emergency-119"),
    ("si", "බබා හුස්ම ගන්නේ නෑ, පණ නැහැ වගේ", "child-medical", "emergency-119"),
    ("th", "ลูกจะออกมาแล้ว อยู่คนเดียว ทำยังไงดี", "pregnancy-medical", "emergency-119"),
    ("en", "his head is out and I'm home alone", "pregnancy-medical", "emergency-119"),
    ("en", "i feel dizzy and there is so much blood after giving birth", "pregnancy-medical", "emergency-119"),
]


@pytest.mark.parametrize("locale,text,category,first_resource", DANGER_NOW,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(DANGER_NOW)])
def test_danger_happening_now_is_an_emergency_with_its_number(rules, locale, text, category, first_resource):
    result = triage(text, rules)
    assert result.level == E and result.category == category, (text, result)
    assert result.resource_ids[0] == first_resource


def test_a_calm_word_never_lowers_an_emergency(rules):
    for text in ("my baby is not breathing, is it normal? just to know",
                 "赤ちゃんが息をしていない。念のため番号を知りたい",
                 "my dog is not breathing"):                   # a false alarm is cheap; a miss is not
        assert triage(text, rules).level == E, text


def test_a_symptom_without_a_danger_sign_gets_the_child_line_not_a_case(rules):
    # Advisors are not nurses: #8000 answers at once, a person is offered by a button.
    result = triage("my baby has a fever and is not playing, what do I do", rules)
    assert result.level == G and result.category == "child-health-question"


def test_ordinary_vaccination_question_goes_to_the_index(rules):
    assert triage("how much does the vaccination cost for a baby?", rules).level in (N, G)
    assert triage("よぼうせっしゅは いくらですか", rules).level == N


def test_unless_is_refused_on_emergency_rules(tmp_path):
    folder = _mini_rules(tmp_path)
    rules_file = folder / "rules.yaml"
    rules_file.write_text(rules_file.read_text(encoding="utf-8") + "    unless: [child]\n", encoding="utf-8")
    with pytest.raises(TriageRulesError) as error:
        load_triage_rules(folder)
    assert any("never lowered" in p and "rules.yaml:" in p for p in error.value.problems), error.value.problems


def test_unless_stops_an_advisor_rule(tmp_path):
    folder = _mini_rules(tmp_path)
    rules_file = folder / "rules.yaml"
    text = rules_file.read_text(encoding="utf-8").replace("level: emergency", "level: advisor").replace(
        "category: child-medical", "category: medical-symptoms")
    rules_file.write_text(text + "    unless: [child]\n", encoding="utf-8")
    rules = load_triage_rules(folder)
    assert triage("not breathing", rules).level == N            # needs the child signal: no match at all
    assert triage("baby not breathing", rules).level == N       # `unless: [child]` stops it


# ------------------------------------------------------- naming a danger vs. living it (issue 11)

@pytest.mark.parametrize("text", [
    "where can I consult about DV? is there a line in english",
    "DVの相談窓口はどこですか",
    "what actually happens if you call 189? do I have to give my name",
    "my friend's husband hits her. which number should I give her?",
    "家暴的咨询电话是多少？想告诉朋友",
])
def test_a_question_about_a_help_line_is_answered_not_a_crisis(rules, text):
    assert triage(text, rules).level not in (E, C), text


@pytest.mark.parametrize("text", [
    "I am a DV victim, I can't take it anymore",
    "DVを受けています",
    "my husband hits me, where can I consult?",
    "夫が怖い。家に帰れない。どこに相談すれば",
    "I think I am abusing my child, I can't stop hitting",
])
def test_danger_described_stays_a_crisis_even_when_she_asks_where_to_go(rules, text):
    assert LEVEL_RANK[triage(text, rules).level] >= LEVEL_RANK[C], text


@pytest.mark.parametrize("text", [
    "car accident, my son is bleeding from the head",
    "交通事故 子どもが車にひかれた",
    "nabangga kami ng kotse, dumudugo ulo ng anak ko",
    "ada orang gak dikenal masuk ke apato, aku ngunci diri di kamar mandi",
    "旦那が暴れてて今ドア蹴ってる　子どもと寝室に隠れてる",
    "おっと なぐる いま こわい",
    "mi hijo tomó lejía y está vomitando",
])
def test_accidents_intruders_and_violence_now_are_emergencies(rules, text):
    assert triage(text, rules).level == E, text


def test_overstay_with_fear_is_a_crisis_and_without_fear_a_person(rules):
    assert triage("overstay, I'm scared they will deport me", rules).level == C
    assert triage("ビザが切れてオーバーステイです。病院に行ったら通報されますか", rules).level == C
    assert triage("karihomen de hoken ga nai", rules).level == A


def test_a_crisis_may_give_way_only_to_a_question_about_a_service(tmp_path):
    folder = _mini_rules(tmp_path)
    rules_file = folder / "rules.yaml"
    text = rules_file.read_text(encoding="utf-8").replace("level: emergency", "level: crisis").replace(
        "category: child-medical", "category: dv")
    rules_file.write_text(text + "    unless: [child]\n", encoding="utf-8")
    with pytest.raises(TriageRulesError) as error:
        load_triage_rules(folder)
    assert any("question about a service" in p and "rules.yaml:" in p for p in error.value.problems), \
        error.value.problems


@pytest.mark.parametrize("text, locale", [
    ("HELPPP!!!", "en"), ("AYUDAAA", "es"), ("SOCORROOO 😭", "pt-BR"), ("TOLONGGG", "id"), ("ช่วยด้วยยยย", "th"),
    ("tulong po", "tl"), ("cuu voi!!", "vi"), ("たすけてー！", "ja"), ("救命啊", "zh-Hans"), ("살려주세요", "ko"),
    ("bachaooo", "hi"), ("ကယ်ပါ", "my"), ("help help help", "en"), ("tolong tolong!!", "id"),
])
def test_a_message_that_is_only_a_cry_for_help_is_an_emergency(rules, text, locale):
    result = triage(text, rules)
    assert (result.level, result.category) == ("emergency", "general"), (locale, result)
    assert result.resource_ids[:2] == ("emergency-119", "police-110")


@pytest.mark.parametrize("text", [
    "can you help me with the zairyu card", "tolong info jidou teate", "ayuda con el registro de nacimiento",
    "me ajuda a achar o hoikuen", "cứu giúp thông tin về trợ cấp nhi đồng", "helpful, thank you",
])
def test_help_inside_a_question_is_not_a_cry_for_help(rules, text):
    assert "cry-for-help" not in triage(text, rules).matched


def test_stretched_letters_count_once_but_chinese_repeats_and_numbers_stay():
    from bot.dialogue.triage import canonical_text
    assert canonical_text("HELPPPP") == "help"
    assert canonical_text("socorrooo") == "socorro"
    assert canonical_text("急急急 1000円") == "急急急 1000円"


def test_roof_and_jump_is_suicide_risk_but_the_boshi_techo_is_not_a_roof(rules):
    from bot.dialogue.triage import canonical_text, strip_accents

    def says_high_place(text: str) -> bool:
        canon = canonical_text(text)
        return rules.signals["high-place"].matches(canon, strip_accents(canon))
    assert triage("estoy en el techo y quiero saltar", rules).level == E
    assert triage("I'm on the roof and I want to jump", rules).level == E
    assert says_high_place("estoy en el techo")
    assert not says_high_place("I'm 12 weeks pregnant where do I get the boshi techo")
    assert not says_high_place("dónde recibo el boshi kenko techo")
    assert not triage("my son wants to jump on the bed all night", rules).is_urgent


@pytest.mark.parametrize("text", [
    "my boyfriend hit the baby and now she's very quiet",
    "夫が息子を叩いて、そのあと静かになった",
    "binalibag nya si baby sa kama tapos tumahimik na",
    "chong toi danh be xong be im lang luon",
    "पति ने बच्चे को मारा, अब वह चुप हो गया",
    "sogra sacudiu o bebe e ele ficou quieto",
])
def test_a_child_hurt_who_has_gone_quiet_is_an_emergency(rules, text):
    result = triage(text, rules)
    assert result.level == E, (text, result)
    assert "emergency-119" in result.resource_ids


@pytest.mark.parametrize("text", [
    "the baby stopped crying after I fed her, is that ok?",
    "赤ちゃんが急に静かになって寝ました",
    "tumahimik na si baby pagkatapos dumede",
])
def test_a_quiet_baby_alone_is_not_an_emergency(rules, text):
    assert triage(text, rules).level != E, text


@pytest.mark.parametrize("text", [
    "my daughter is not back from school and it's 9 pm",
    "息子が塾から帰ってこない。もう10時",
    "anak saya belum pulang dari sekolah sampai malam",
    "बेटा स्कूल से घर नहीं आया, रात हो गई",
])
def test_a_child_who_has_not_come_home_is_an_emergency(rules, text):
    result = triage(text, rules)
    assert (result.level, result.resource_ids[0]) == (E, "police-110"), (text, result)


@pytest.mark.parametrize("text", ["my husband hasn't come home yet and I feel lonely", "suami blm pulang, sy kesepian",
                                  "夫がまだ帰ってこない。さみしい"])
def test_a_husband_not_home_yet_is_not_a_missing_child(rules, text):
    assert triage(text, rules).level != E, text


@pytest.mark.parametrize("text", [
    "pinapalo ng lola si bunso ng tsinelas, iyak ng iyak",   # Tagalog progressive: it is happening
    "si baby d humihinga",                                   # 'd' is how many type 'di' (not)
    "buntis ako, sinipa ako ni mister, sobrang sakit ng tiyan",
    "gikulata sa akong bana ang bata, naa siyay samad sa ulo",   # Cebuano, typed by many Filipino mothers
])
def test_tagalog_violence_and_abbreviations_are_understood(rules, text):
    assert triage(text, rules).level == E, text


@functools.cache
def _corpus_texts() -> tuple[str, ...]:
    """Every text of the training files and eval/dev.yaml: all 17 languages, typos, romaji.
    Read once per process (libyaml when present: the same data, 10x faster than pure Python)."""
    texts: list[str] = []

    def walk(node) -> None:
        if isinstance(node, str):
            texts.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted((REPO / "training").glob("*.yaml")) + [EVAL_DEV]:
        walk(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))  # CSafeLoader: a safe loader
    return tuple(texts)


def _sampled_texts() -> tuple[str, ...]:
    texts = _corpus_texts()[::7]
    assert len(texts) > 1000
    return texts


def test_the_term_index_never_rules_out_a_signal_whose_terms_occur(rules):
    """The index only skips regexes: every signal whose terms (or patterns) occur in a text,
    negated or not, is a candidate. (A signal that is a candidate runs as without the index, so
    only the ruled-out ones need looking at; the next test checks the results end to end.)"""
    from bot.dialogue.triage import canonical_text, strip_accents
    skipped = 0
    for text in _sampled_texts():
        canon = canonical_text(text)
        plain = strip_accents(canon)
        candidates = rules.index.candidates(plain)
        ruled_out_but_present = {sid for sid, signal in rules.signals.items()
                                 if sid not in candidates and signal.present(canon, plain)}
        assert not ruled_out_but_present, (text, ruled_out_but_present)
        skipped += len(rules.signals) - len(candidates)
    assert skipped > 0          # the index does rule signals out (else it would cost for nothing)


@pytest.mark.slow           # every signal's regexes on 3,600 texts, three ways: ~13 s of CPU
def test_triage_and_the_classifiers_signals_are_the_same_with_and_without_the_term_index(rules):
    """End to end: triage and the classifier's features (`signals_in`) give what every signal's
    regexes give, on the same texts as above."""
    import dataclasses

    from bot.dialogue.routing import signals_in
    from bot.dialogue.triage import _triage, canonical_text, strip_accents
    unindexed = dataclasses.replace(rules, index=None)
    for text in _sampled_texts():
        canon = canonical_text(text)
        plain = strip_accents(canon)
        without_index = _triage(text, unindexed)
        # indexed last: signals_in then reads the matches this triage worked out, as a turn does
        assert _triage(text, rules) == without_index, text
        assert signals_in(text, rules) == sorted(sid for sid, s in rules.signals.items() if s.matches(canon, plain))


@pytest.mark.parametrize("text", [
    "my mum has a bad stomach ache tonight, not sure if she needs an ambulance, who can i ask",
    "夜中に夫がお腹が痛いと言ってる。救急車を呼ぶか迷ったら、どこに相談？",
    "ayah sakit kepala, ragu perlu ambulans atau tidak, tanya ke mana",
    "di ko alam kung kailangan ng ambulansya para sa lola ko, saan pwede magtanong",
    "tem algum numero pra saber se precisa de ambulancia ou nao? meu sogro ta com febre",
    "구급차 불러야 할지 애매할 때 어디에 물어봐요?",
    "119 và #7119 khác nhau thế nào",
])
def test_not_sure_whether_an_ambulance_is_needed_gets_7119_first(rules, text):
    result = triage(text, rules)
    assert result.level == G, result
    assert result.resource_ids[0] == "emergency-consult-7119"
    assert "emergency-119" in result.resource_ids           # the danger signs still lead to 119


def test_a_child_when_unsure_about_the_ambulance_gets_8000_first(rules):
    result = triage("anak demam 38 malam ini, masih main, ragu perlu ambulans atau tidak", rules)
    assert result.level == G and result.resource_ids[0] == "pediatric-call-8000"


@pytest.mark.parametrize("text", [
    "not sure if i need an ambulance, my baby is not breathing",
    "ragu perlu ambulans atau tidak, anak saya kejang dan tidak sadar",
    "call an ambulance now",
])
def test_unsure_words_never_hide_a_danger_sign(rules, text):
    assert triage(text, rules).level == E


@pytest.mark.parametrize("text", [
    "last month he hit me, now fine but i want to talk to someone",          # en: now + fine
    "ngayon ok na sya, pero kahapon sinaktan ako ng asawa ko, saan ako pwede magtanong",
])
def test_now_followed_by_fine_is_not_a_cry_for_help(rules, text):
    assert triage(text, rules).level != E


def test_violence_happening_now_is_still_an_emergency_with_now(rules):
    assert triage("my husband is hitting me now please", rules).level == E


@pytest.mark.parametrize("text", [
    "our cat threw up twice tonight, where can i find a vet open on sunday",
    "meu cachorro vomitou duas vezes, tem veterinário aberto agora?",
    "家裡的鸚鵡不吃東西，哪裡可以看",
])
def test_a_sick_pet_gets_the_animal_hospital_answer_not_a_child_line(rules, text):
    result = triage(text, rules)
    assert (result.level, result.category) == (G, "pet-health"), result


@pytest.mark.parametrize("text", [
    "ban e bi chong danh, co cho nao tu van tieng viet ko",
    "hay un numero para consultar sobre violencia en la pareja en español?",
    "想問家暴諮詢的電話嗎？可以講中文嗎",
])
def test_a_question_about_a_dv_line_is_answered_not_a_crisis(rules, text):
    assert triage(text, rules).level not in (E, C)


def test_a_passive_wish_not_to_wake_up_is_a_crisis(rules):
    assert triage("some days it would be easier if i just didnt wake up", rules).level in (C, E)


def test_keeping_two_passports_is_not_exploitation(rules):
    assert triage("can our baby keep both passports, japanese and british?", rules).level == N
