"""Local facts: a parent is shown their own municipality's office, address, phone, hours and official
page (issue 12, item 6), and `resources check` warns on unofficial sources and English labels."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import LOCALES
from bot.resources.check import check_resources, is_official, official_domains
from bot.resources.loader import load_index
from tests.unit.test_resource_index import TODAY, replace_in, warnings, write_resources

pytestmark = pytest.mark.usefixtures("fake_line")

BIRTH_QUESTION = "where do I register my baby's birth"
NIGHT_QUESTION = "who can I call at night if I feel sick, I am an adult"


def _resident(bot, user_id: str, municipality: str, language: str = "en") -> None:
    bot.follow(user_id, language=language, name="Test parent", agree=False)
    bot.tap(user_id, "privacy:agree")
    bot.tap(user_id, f"muni:{municipality}")


def _night_line(bot, user_id: str) -> str:
    """The calm answer names the area's line at once; tapping its entry shows the office's facts."""
    said = "\n".join(bot.say(user_id, NIGHT_QUESTION))
    return said + "\n" + "\n".join(bot.tap(user_id, "res:emergency-consult-7119"))


def _birth_answer(bot, user_id: str) -> str:
    said = "\n".join(bot.say(user_id, BIRTH_QUESTION))
    if "■" not in said:                          # offered as a choice: tap it, as a parent would
        said = "\n".join(bot.tap(user_id, "res:birth-registration"))
    return said


def test_toshima_parent_is_told_the_toshima_office_for_birth_registration(bot):
    _resident(bot, "Utoshima", "toshima-ku")
    answer = _birth_answer(bot, "Utoshima")
    assert "豊島区役所 総合窓口課" in answer and "東京都豊島区南池袋2-45-1" in answer
    assert "03-3981-1111" in answer and "Mon-Fri 8:30-17:00" in answer and "Sat-Sun 9:00-17:00" in answer
    assert "https://www.city.toshima.lg.jp/094/tetsuzuki/todokede/todokede/000292.html" in answer
    assert "hiroshima" not in answer.lower() and "松戸" not in answer


def test_matsudo_parent_is_told_the_matsudo_office_for_birth_registration(bot):
    _resident(bot, "Umatsudo", "matsudo-shi")
    answer = _birth_answer(bot, "Umatsudo")
    assert "松戸市役所 市民課" in answer and "千葉県松戸市根本387-5" in answer and "047-366-1111" in answer
    assert "city.matsudo.chiba.jp" in answer and "豊島" not in answer


def test_matsudo_adult_at_night_gets_chiba_line_and_hours_not_tokyo(bot):
    _resident(bot, "Unight", "matsudo-shi")
    said = _night_line(bot, "Unight")
    assert "千葉県救急安心電話相談 #7119 / 03-6810-1636" in said
    assert "Mon-Sat 18:00-next morning 8:00" in said
    assert "Sun, holidays, 29 Dec-3 Jan and 29 Apr-5 May 9:00-next morning 8:00" in said
    assert "https://www.pref.chiba.lg.jp/iryou/soudan/ansindenwasoudan.html" in said
    assert "03-3212-2323" not in said and "東京消防庁" not in said


def test_toshima_adult_at_night_gets_tokyo_line(bot):
    _resident(bot, "Unight2", "toshima-ku")
    said = _night_line(bot, "Unight2")
    assert "東京消防庁救急相談センター" in said and "03-3212-2323" in said and "every day 0:00-24:00" in said
    assert "6810-1636" not in said


@pytest.mark.parametrize("language, role_word", [("my", "အရေးပေါ် ဖုန်းအကြံပေး (လူကြီး)"),
                                                 ("ne", "आपत्कालीन फोन परामर्श (वयस्क)")])
def test_contact_labels_are_in_the_parents_language(bot, language, role_word):
    user_id = f"Ulabel{language}"
    _resident(bot, user_id, "matsudo-shi", language=language)
    said = _night_line(bot, user_id)
    assert f"☎ {role_word}: 千葉県救急安心電話相談" in said
    assert "Emergency consultation" not in said and "Mon-Sat" not in said


def test_a_user_without_a_known_municipality_gets_the_national_number_only(bot):
    _resident(bot, "Uother", "other")
    said = "\n".join(bot.say("Uother", NIGHT_QUESTION))
    assert "#7119" in said and "03-3212-2323" not in said and "6810-1636" not in said


# ---- resources check: official sources and labels -----------------------------------------------------

def _official_list(root: Path, *domains: str) -> None:
    (root / "official_domains.yaml").write_text("domains:\n" + "".join(f"  - {d}\n" for d in domains),
                                               encoding="utf-8")


def test_check_warns_on_sources_outside_the_official_sites(tmp_path):
    root = write_resources(tmp_path / "resources")
    _official_list(root, "go.jp", "city.toshima.lg.jp")
    replace_in(root / "entries" / "toshima-ku.yaml", "https://www.city.toshima.lg.jp/",
               "https://www-city-toshima-lg-jp.cache.yimg.jp/page.html")
    found = warnings(check_resources(root, today=TODAY))
    cached = [w for w in found if "cache.yimg.jp" in w]
    assert len(cached) == 1 and "toshima-ku.yaml:12:" in cached[0] and "not an official site" in cached[0]
    hiroshima = [w for w in found if "www.city.hiroshima.lg.jp" in w]     # another city's page
    assert len(hiroshima) == 1
    assert not [w for w in found if "mhlw.go.jp" in w]                   # a ministry is official


def test_admin_extends_the_official_sites_in_yaml(tmp_path):
    root = write_resources(tmp_path / "resources")
    _official_list(root, "go.jp", "city.toshima.lg.jp", "city.hiroshima.lg.jp")
    assert not [w for w in warnings(check_resources(root, today=TODAY)) if "not an official" in w]


def test_check_warns_on_a_latin_contact_label_in_non_latin_locales(tmp_path):
    root = write_resources(tmp_path / "resources")
    _official_list(root, "go.jp", "lg.jp")
    found = [w for w in warnings(check_resources(root, today=TODAY)) if "Latin letters" in w]
    # 'Toshima City Office' is shown as is inside Burmese, Nepali... answers: one warning per contact
    assert len([w for w in found if "Toshima City Office" in w]) == 1
    toshima = next(w for w in found if "Toshima City Office" in w)
    assert " my," in toshima and " ne," in toshima and " vi" not in toshima and "role:" in toshima


def test_a_contact_role_with_words_in_every_locale_needs_no_warning(tmp_path):
    root = write_resources(tmp_path / "resources")
    _official_list(root, "go.jp", "lg.jp")
    replace_in(root / "entries" / "toshima-ku.yaml", "  - name: Toshima City Office\n",
               "  - name: 豊島区役所\n    role: city-office\n")
    replace_in(root / "entries" / "national.yaml", "  - name: Tokyo line\n", "  - name: 東京都\n")
    replace_in(root / "entries" / "national.yaml", "  - name: Children's emergency line\n", "  - name: 子ども医療電話相談\n")
    for locale in LOCALES:
        word = "City office" if locale in ("en", "vi") else "区役所"
        replace_in(root / "text" / f"{locale}.yaml", f"locale: {locale}\n",
                   f"locale: {locale}\ncontact_roles:\n  city-office: {word}\n")
    found = [w for w in warnings(check_resources(root, today=TODAY)) if "Latin" in w or "no word" in w]
    assert found == []


def test_a_role_without_its_word_in_a_non_latin_locale_is_reported(tmp_path):
    root = write_resources(tmp_path / "resources")
    _official_list(root, "go.jp", "lg.jp")
    replace_in(root / "entries" / "toshima-ku.yaml", "  - name: Toshima City Office\n",
               "  - name: 豊島区役所\n    role: city-office\n")
    replace_in(root / "text" / "en.yaml", "locale: en\n", "locale: en\ncontact_roles:\n  city-office: City office\n")
    found = [w for w in warnings(check_resources(root, today=TODAY)) if "city-office" in w]
    assert len(found) == 1 and "no word in ja, ja-easy" in found[0]


def test_shipped_index_has_no_latin_labels_and_local_variants_use_official_sources():
    root = Path(__file__).resolve().parents[2] / "resources"
    found = [str(w) for w in check_resources(root) if w.warning]
    assert not [w for w in found if "Latin letters" in w or "no word" in w]
    assert not [w for w in found if "cache.yimg.jp" in w]
    index = load_index(root)
    for entry in index.entries.values():                 # every local fact comes from an official page
        for slug, variant in entry.local.items():
            assert all(is_official(s.url, official_domains(root)[0]) for s in variant.sources), (entry.id, slug)
    birth = index.get("birth-registration")
    assert all(is_official(s.url, official_domains(root)[0]) and "hiroshima" not in s.url
               for s in birth.sources if s.type == "official")
