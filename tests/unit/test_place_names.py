"""A municipality's name says where a parent lives, not what she asks (resources/municipalities.yaml
`names:`), and a city's own page stands for the national one it localizes (`localizes:`)."""
from __future__ import annotations

import pytest

from bot.dialogue.classifier import load_classifier
from bot.dialogue.routing import route_text
from bot.resources.loader import ResourceIndexError, load_index
from tests.unit.test_resource_index import TOSHIMA, replace_in, write_resources


@pytest.mark.parametrize("text, asked, named", [
    ("I live in Matsudo. How do I apply for child allowance?", "I live in  . How do I apply for child allowance?",
     "matsudo-shi"),
    ("豊島区に住んでいます。予防接種はどこ？", " に住んでいます。予防接種はどこ？", "toshima-ku"),
    ("마쓰도에 살아요. 아이 수당은?", " 에 살아요. 아이 수당은?", "matsudo-shi"),
    ("we moved from TOSHIMA-KU to matsudo, boshi techo?", "we moved from   to  , boshi techo?", "toshima-ku"),
    ("Toshima?", "Toshima?", None),                        # a name alone asks about the place
    ("豊島区は？", "豊島区は？", None),
    ("toshimaya bakery hours", "toshimaya bakery hours", None),      # a Latin name only as a whole word
])
def test_the_names_are_taken_out_of_what_she_asks(shipped_index, text, asked, named):
    assert shipped_index.place_apart(text) == (asked, named)


def test_a_city_page_stands_for_the_national_one_and_for_the_other_citys_page(shipped_index):
    local = shipped_index.local_version
    assert local("preg-notification-mch-handbook", "matsudo-shi") == "matsudo-pregnancy-support"
    assert local("preg-notification-mch-handbook", "toshima-ku") == "toshima-pregnancy-notification"
    assert local("toshima-foreign-resident-desk", "matsudo-shi") == "matsudo-interpreter-desk"
    assert local("matsudo-pregnancy-support", "toshima-ku") == "toshima-pregnancy-notification"
    assert local("fresc", "toshima-ku") is None                           # visa and work: not the city's desk
    assert local("child-allowance", "matsudo-shi") is None                # no city page for it
    assert local("matsudo-interpreter-desk", "matsudo-shi") is None       # hers already
    assert local("preg-notification-mch-handbook", None) is None          # where she lives is unknown


@pytest.mark.parametrize("text, locale, first", [
    ("I live in Matsudo. How do I apply for child allowance?", "en", "child-allowance"),
    ("豊島区に住んでいます。子どもの予防接種はどこで受けられますか", "ja", "routine-vaccinations"),
    ("마쓰도에 살아요. 아이 수당은 어떻게 신청해요?", "ko", "child-allowance"),
    ("我住在丰岛区，孩子打疫苗在哪里？", "zh-Hans", "routine-vaccinations"),
    ("Toshima pregnancy notification where?", "en", "toshima-pregnancy-notification"),
    ("q apoyo da matsudo para embarazadas y recien nacidos?", "es", "matsudo-pregnancy-support"),
    ("matsudo english desk", "en", "matsudo-interpreter-desk"),
    ("what is FRESC?", "en", "fresc"),
])
def test_what_she_asks_decides_the_topic_and_where_she_lives_the_page(shared_content, text, locale, first):
    content = shared_content.current()
    route = route_text(text, locale, triage_rules=content.triage_rules, index=content.index,
                       classifier=load_classifier())
    assert route.kind in ("answer", "suggest") and route.entry_ids[0] == first


@pytest.mark.parametrize("text, municipality, first", [
    ("FRESC phone number", "toshima-ku", "fresc"),           # her city has a desk, but she asks for FRESC
    ("where do I get the boshi techo?", "matsudo-shi", "preg-notification-mch-handbook"),
    ("where do I get the boshi techo in matsudo?", None, "matsudo-pregnancy-support"),
    ("matsudo english desk", "toshima-ku", "matsudo-interpreter-desk"),
])
def test_the_citys_own_page_comes_first_where_the_message_names_the_city(shared_content, text, municipality, first):
    content = shared_content.current()
    route = route_text(text, "en", triage_rules=content.triage_rules, index=content.index, municipality=municipality,
                       classifier=load_classifier())
    assert route.entry_ids[0] == first


def test_a_name_never_hides_an_emergency(shared_content):
    content = shared_content.current()
    route = route_text("I live in Toshima and my baby is not breathing", "en", triage_rules=content.triage_rules,
                       index=content.index, classifier=load_classifier())
    assert route.kind == "emergency"


def test_localizes_names_a_national_entry_from_a_city_entry(tmp_path):
    root = write_resources(tmp_path / "resources",
                           toshima=TOSHIMA.replace("  keywords: [豊島区, Toshima]",
                                                   "  keywords: [豊島区, Toshima]\n  localizes: [birth-registraton]"))
    problems = "\n".join(pytest.raises(ResourceIndexError, load_index, root).value.problems)
    assert "localizes 'birth-registraton', which is not an id in resources/entries" in problems
    assert "birth-registration" in problems                                   # did you mean

    replace_in(root / "entries" / "toshima-ku.yaml", "birth-registraton", "toshima-desk")
    problems = "\n".join(pytest.raises(ResourceIndexError, load_index, root).value.problems)
    assert "localizes 'toshima-desk', which is not a national entry" in problems

    replace_in(root / "entries" / "toshima-ku.yaml", "localizes: [toshima-desk]", "localizes: [birth-registration]")
    index = load_index(root)
    assert index.local_version("birth-registration", "toshima-ku") == "toshima-desk"
