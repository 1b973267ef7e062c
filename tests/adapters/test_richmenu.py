"""Rich menus: content checks, drawing in every script, deploy through the real SDK to the fake LINE
server (idempotent), per-user links that follow the language, and the fake refusing what LINE refuses."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat
from sqlalchemy import insert

from bot import LOCALES
from bot.adapters.line_richmenu import RichMenuApiError
from bot.content.i18n import Catalog
from bot.richmenu.deploy import RichMenuDeployer, build_content
from bot.richmenu.links import alias_for
from bot.richmenu.model import check_rich_menu, load_rich_menu
from bot.richmenu.render import render_menu
from bot.settings import PROJECT_ROOT
from bot.store.models import User
from tests.support.line_events import follow_event, postback_event

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "richmenu"
FLOWS = PROJECT_ROOT / "flows"
COMPLEX = ("my", "si", "th", "hi", "ne", "bn", "ko", "zh-Hant")
# fontconfig's language tags, to find the reference font independently of the renderer's own table.
FC_LANG = {"my": "my", "si": "si", "th": "th", "hi": "hi", "ne": "ne", "bn": "bn", "ko": "ko", "zh-Hant": "zh-tw"}


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load(PROJECT_ROOT / "locales")


@pytest.fixture(scope="module")
def spec():
    return load_rich_menu(FLOWS)


@pytest.fixture(scope="module")
def contents(spec, catalog):
    return [build_content(spec, catalog, FLOWS, locale) for locale in LOCALES]


def _deploy(services, contents):
    return RichMenuDeployer(services.rich_menus, services.rich_menu_links, "en").deploy(contents)


# ---- content ---------------------------------------------------------------------------------
def test_shipped_rich_menu_passes_the_check(catalog):
    assert check_rich_menu(FLOWS, catalog) == []


def test_check_reports_lines_for_bad_sizes_areas_and_long_chat_bar_text(tmp_path, catalog):
    (tmp_path / "richmenu.yaml").write_text(
        "size: {width: 2500, height: 2000}\nchat_bar: richmenu.chat_bar\nareas:\n"
        "  - {id: a, label: menu.birth, action: {type: postback, data: 'menu:birth'}, bounds: {x: 0, y: 0, width: 1500, height: 900}}\n"
        "  - {id: b, label: menu.visa, action: {type: postback, data: 'menu:visa'}, bounds: {x: 1000, y: 0, width: 1400, height: 900}}\n"
        "  - {id: c, label: menu.main, action: {type: postback, data: 'menu'}, bounds: {x: 2000, y: 1000, width: 800, height: 900}}\n",
        encoding="utf-8")
    problems = check_rich_menu(tmp_path, catalog)
    assert any("width/height is 1.25" in p for p in problems)
    assert any("outside the 2500 x 2000 image" in p for p in problems)
    assert any("'a' and 'b' overlap" in p for p in problems)
    long_bar = Catalog({**catalog.texts, "vi": {**catalog.texts["vi"], "richmenu.chat_bar": "Nhấn vào đây để xem"}}, catalog.refs)
    (tmp_path / "richmenu.yaml").write_text((FLOWS / "richmenu.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert any("locales/vi.yaml" in p and "allows 14" in p for p in check_rich_menu(tmp_path, long_bar))


def test_a_designed_image_of_the_wrong_size_is_reported(tmp_path, catalog):
    (tmp_path / "richmenu.yaml").write_text((FLOWS / "richmenu.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "richmenu" / "images").mkdir(parents=True)
    Image.new("RGB", (1200, 810), "white").save(tmp_path / "richmenu" / "images" / "vi.png")
    assert any("vi.png:1: the image is 1200 x 810" in p for p in check_rich_menu(tmp_path, catalog))


# ---- drawing ---------------------------------------------------------------------------------
def _reference_font(locale: str, size: int) -> ImageFont.FreeTypeFont:
    """fontconfig's bold sans-serif font for the language (its serif one is not what a menu uses)."""
    def run(*args):
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()
    pattern = f"sans-serif:lang={FC_LANG[locale]}:weight=bold"
    found = [line.split("\t") for line in run("fc-match", "-f", "%{file}\t%{index}\n", pattern)]
    found += sorted(line.split("\t") for line in run("fc-list", "-f", "%{file}\t%{index}\n", f":lang={FC_LANG[locale]}"))
    path, index = next((f, i) for f, i in found if "Sans" in Path(f).name and "Bold" in Path(f).name)
    return ImageFont.truetype(path, size, index=int(index or 0), layout_engine=ImageFont.Layout.RAQM)


def _drawn(text: str, font, size: tuple[int, int]) -> Image.Image:
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).text((size[0] // 2, size[1] // 2), text, font=font, fill=0, anchor="mm")
    return image


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean pixel difference of the two drawings, each cropped to its ink and scaled to one size."""
    def ink(image):
        box = ImageChops.invert(image).getbbox()
        return image.crop(box).resize((400, 120))
    return ImageStat.Stat(ImageChops.difference(ink(a), ink(b))).mean[0]


@pytest.mark.parametrize("locale", COMPLEX)
def test_labels_are_drawn_with_a_font_that_has_the_script_and_shaped(locale, spec, catalog):
    rendered = render_menu(spec, catalog, locale)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{locale}.png").write_bytes(rendered.png)
    image = Image.open(io.BytesIO(rendered.png)).convert("L")
    compared = []
    for label in rendered.labels:
        for line, box in zip(label.lines, label.line_boxes, strict=True):
            if any(ch in line for ch in "/&・"):
                continue                  # drawn partly in the Latin font: the reference font has no '/'
            crop = image.crop(box).point(lambda v: 0 if v < 128 else 255)
            canvas = (crop.width + 200, crop.height + 200)
            expected = _drawn(line, _reference_font(locale, label.size), canvas)
            no_font = _drawn(line, ImageFont.load_default(label.size), canvas)     # what a missing font gives
            assert _difference(crop, expected) < 25, f"{locale} '{line}' does not look like its reference"
            assert _difference(crop, no_font) > _difference(crop, expected) + 15, f"{locale}: the check cannot tell"
            compared.append(line)
    # Every line of a wrapped label too: Sinhala's labels that need shaping (ෙ before its consonant,
    # the ZWJ conjuncts of සෞඛ්‍ය and ප්‍රධාන) are all on two lines.
    assert len(compared) >= 5, f"{locale}: only {compared} compared"
    assert rendered.png[:8] == b"\x89PNG\r\n\x1a\n" and len(rendered.png) <= 1024 * 1024


def test_every_locale_renders_within_linе_limits(contents, spec):
    assert {c.locale for c in contents} == set(LOCALES)
    for content in contents:
        with Image.open(io.BytesIO(content.image)) as image:
            assert image.size == (spec.width, spec.height)
        assert len(content.image) <= 1024 * 1024 and len(content.request["chatBarText"]) <= 14


# ---- deploy and links through the real SDK ----------------------------------------------------
def test_deploy_creates_17_menus_with_images_aliases_and_default_then_nothing_new(services, fake_line, contents):
    report = _deploy(services, contents)
    state = fake_line.state
    assert sorted(report.created) == sorted(LOCALES) and len(state.richmenus) == 17
    assert set(state.richmenu_images) == set(state.richmenus)
    assert state.richmenu_aliases == {alias_for(loc): report.ids[loc] for loc in LOCALES}
    assert state.default_richmenu == report.ids["en"]
    assert {m["chatBarText"] for m in state.richmenus.values()} >= {"Trình đơn", "मेनु", "メニュー"}

    calls_before = len(state.calls)
    again = _deploy(services, contents)
    assert again.created == [] and again.deleted == [] and again.aliases_set == [] and not again.default_set
    assert sorted(again.unchanged) == sorted(LOCALES) and again.ids == report.ids
    assert len(state.richmenus) == 17 and len(state.calls) == calls_before     # no write call at all


def test_a_changed_menu_replaces_the_old_one(services, fake_line, contents, spec, catalog):
    first = _deploy(services, contents)
    texts = {**catalog.texts, "vi": {**catalog.texts["vi"], "richmenu.chat_bar": "Danh mục"}}
    changed = build_content(spec, Catalog(texts, catalog.refs), FLOWS, "vi")
    report = _deploy(services, [c if c.locale != "vi" else changed for c in contents])
    assert report.created == ["vi"] and len(report.deleted) == 1 and report.aliases_set == [alias_for("vi")]
    assert first.ids["vi"] not in fake_line.state.richmenus and len(fake_line.state.richmenus) == 17
    assert fake_line.state.richmenu_aliases[alias_for("vi")] == report.ids["vi"]


def test_follower_gets_her_language_menu_and_it_follows_her_choice(bot, services, fake_line, contents):
    ids = _deploy(services, contents).ids
    bot.follow("Uvi-rich", language="vi")
    assert fake_line.state.user_richmenus["Uvi-rich"] == ids["vi"]
    bot.send(postback_event("Uvi-rich", "lang:ne"))
    assert fake_line.state.user_richmenus["Uvi-rich"] == ids["ne"]
    links = [c for c in fake_line.state.calls if c["endpoint"] == "richmenu.link"]
    bot.send({**follow_event("Uvi-rich"), "type": "unfollow"})
    assert [c for c in fake_line.state.calls if c["endpoint"] == "richmenu.link"] == links   # unfollow: nothing


def test_link_failures_are_retried_by_the_task_queue(bot, services, fake_line, contents):
    ids = _deploy(services, contents).ids
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    fake_line.set_profile("Uth-rich", "Parent", "th")
    # The link is tried at once after her turn, then by a task: both fail here.
    fake_line.fail_next({"status": 500, "endpoint": "richmenu.link"}, {"status": 500, "endpoint": "richmenu.link"})
    services.rich_menu_links.save({})            # the cached ids were lost: looked up from LINE's aliases
    bot.send(follow_event("Uth-rich"))
    assert "Uth-rich" not in fake_line.state.user_richmenus
    queue = Queue("bot-tasks", connection=services.redis)
    waiting = [j for j in ScheduledJobRegistry(queue=queue).get_job_ids()
               if Job.fetch(j, connection=services.redis).func_name == "bot.jobs.link_rich_menu"]
    assert len(waiting) == 1                     # RQ retries it later, as it does for notifications
    queue.enqueue_job(Job.fetch(waiting[0], connection=services.redis))
    bot.work()
    assert fake_line.state.user_richmenus["Uth-rich"] == ids["th"]


def test_without_menus_line_is_asked_once_not_at_every_follow_and_a_deploy_links_the_next(
        bot, services, fake_line, contents, monkeypatch):
    api = services.rich_menu_links._api
    listed: list[dict] = []
    real_aliases = api.aliases
    monkeypatch.setattr(api, "aliases", lambda: listed.append(real_aliases()) or listed[-1])   # counts the real calls
    for user in ("Uno-menu-1", "Uno-menu-2"):
        fake_line.set_profile(user, "Parent", "vi")
        bot.send(follow_event(user))
    assert listed == [{}]                           # asked once, then remembered: no menu is deployed
    assert not [c for c in fake_line.state.calls if c["endpoint"] == "richmenu.link"]
    ids = _deploy(services, contents).ids
    fake_line.set_profile("Uno-menu-3", "Parent", "vi")
    bot.send(follow_event("Uno-menu-3"))
    assert fake_line.state.user_richmenus["Uno-menu-3"] == ids["vi"]


def test_bulk_link_after_deploy_500_per_call(services, fake_line, contents):
    _deploy(services, contents)
    with services.sessions.begin() as session:
        session.execute(insert(User), [{"line_user_id": f"Ubulk{n:05d}", "locale": "vi" if n % 2 else "ko",
                                        "locale_chosen": True, "blocked": False} for n in range(1200)])
    with services.sessions() as session:
        users = session.query(User.line_user_id, User.locale).all()
    assert services.rich_menu_links.bulk_link(users) == 1200
    calls = [c for c in fake_line.state.calls if c["endpoint"] == "richmenu.bulk_link"]
    assert sorted(c["body"]["count"] for c in calls) == [100, 100, 500, 500]
    assert fake_line.state.user_richmenus["Ubulk00001"] == fake_line.state.richmenu_aliases[alias_for("vi")]


# ---- the fake refuses what LINE refuses ------------------------------------------------------
def _menu(**changes) -> dict:
    body = {"size": {"width": 2500, "height": 843}, "selected": False, "name": "test", "chatBarText": "Menu",
            "areas": [{"bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                       "action": {"type": "postback", "data": "menu", "label": "Menu"}}]}
    body.update(changes)
    return body


@pytest.mark.parametrize("changes", [
    {"size": {"width": 2500, "height": 2000}},                     # ratio under 1.45
    {"size": {"width": 700, "height": 250}},                       # narrower than 800
    {"chatBarText": "Nhấn vào đây để xem"},                        # over 14 characters
    {"areas": [{"bounds": {"x": 2000, "y": 0, "width": 800, "height": 843}, "action": {"type": "postback", "data": "x"}}]},
    {"areas": []},
])
def test_fake_refuses_menus_line_refuses(fake_line, changes):
    # Sent as raw JSON: the SDK's own model already refuses some of these before they leave.
    import json
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"{fake_line.url}/v2/bot/richmenu", data=json.dumps(_menu(**changes)).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer t"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 400 and fake_line.state.richmenus == {}


def _post_raw(fake_line, path: str, body: dict) -> tuple[int, dict]:
    import json
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"{fake_line.url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer t"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _postback(**changes) -> dict:
    return {"areas": [{"bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                       "action": {"type": "postback", "data": "menu", "label": "Menu", **changes}}]}


@pytest.mark.parametrize(("path", "body", "prop"), [
    # Refused by the request schemas of LINE's OpenAPI spec (line_rules), which the hand-written
    # limits do not look at: an inputOption outside the spec's enum, a label that is not a string,
    # user ids that are not strings, an alias id with capitals, a menu id that is not a string.
    ("/v2/bot/richmenu", _menu(**_postback(inputOption="openCamera")), "areas[0].action.inputOption"),
    ("/v2/bot/richmenu", _menu(**_postback(label=5)), "areas[0].action.label"),
    ("/v2/bot/richmenu/bulk/link", {"richMenuId": "richmenu-x", "userIds": [1, 2]}, "userIds[0]"),
    ("/v2/bot/richmenu/alias", {"richMenuAliasId": "LCB-vi", "richMenuId": "richmenu-x"}, "richMenuAliasId"),
    ("/v2/bot/richmenu/alias/lcb-vi", {"richMenuId": 12}, "richMenuId"),
])
def test_fake_refuses_what_lines_openapi_spec_refuses(fake_line, path, body, prop):
    status, error = _post_raw(fake_line, path, body)
    assert status == 400 and prop in [d["property"] for d in error.get("details", [])], error
    assert fake_line.state.richmenus == {} and fake_line.state.user_richmenus == {}


def _png(size, colour="white") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_fake_refuses_bad_images_and_unknown_ids(services, fake_line):
    api = services.rich_menus
    menu_id = api.create(_menu())
    with pytest.raises(RichMenuApiError, match="size must match"):
        api.upload_image(menu_id, _png((2500, 1686)), "image/png")
    with pytest.raises(RichMenuApiError, match="content type"):
        api.upload_image(menu_id, _png((2500, 843)), "image/gif")
    noisy = Image.effect_noise((2500, 843), 128).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 1024 * 1024
    with pytest.raises(RichMenuApiError, match="1 MB"):
        api.upload_image(menu_id, buffer.getvalue(), "image/png")
    with pytest.raises(RichMenuApiError, match="must upload richmenu image"):
        api.link("Usomeone", menu_id)                        # no image yet: LINE will not link it
    api.upload_image(menu_id, _png((2500, 843)), "image/png")
    with pytest.raises(RichMenuApiError, match="already been uploaded"):
        api.upload_image(menu_id, _png((2500, 843)), "image/png")
    for call in (lambda: api.link("Usomeone", "richmenu-unknown"), lambda: api.delete("richmenu-unknown"),
                 lambda: api.upload_image("richmenu-unknown", _png((2500, 843)), "image/png")):
        with pytest.raises(RichMenuApiError) as error:
            call()
        assert error.value.status == 404
    with pytest.raises(ValueError):
        api.bulk_link([f"U{n}" for n in range(501)], menu_id)


# ---- the command itself: `python -m bot richmenu deploy` against the fake --------------------------
def _deploy_command(settings, **env) -> subprocess.CompletedProcess:
    import json
    import sys

    from tests.support.processes import worker_env
    result = subprocess.run([sys.executable, "-m", "bot", "richmenu", "deploy", "--json"], capture_output=True,
                            text=True, timeout=300, env={**worker_env(settings), **env})
    if result.returncode == 0:
        result.report = json.loads(result.stdout)          # type: ignore[attr-defined]
    return result


@pytest.mark.slow
def test_the_deploy_command_creates_17_menus_then_nothing_and_uploads_to_the_data_host(settings, services, fake_line):
    with services.sessions.begin() as session:
        session.execute(insert(User), [{"line_user_id": "Uexisting-ne", "locale": "ne", "locale_chosen": True,
                                        "blocked": False}])
    state = fake_line.state

    # The image goes to LINE_API_DATA_HOST: a data host that does not answer fails the deploy, and
    # the menu created without its image is deleted again (nothing half-made is left at LINE).
    broken = _deploy_command(settings, LINE_API_DATA_HOST="http://127.0.0.1:9")
    assert broken.returncode == 1 and "rich menu deploy failed" in broken.stderr
    assert state.richmenus == {} and state.richmenu_aliases == {}

    first = _deploy_command(settings, LINE_API_DATA_HOST=fake_line.url)
    assert first.returncode == 0, first.stderr[-3000:]
    report = first.report
    assert sorted(report["created"]) == sorted(LOCALES) and len(state.richmenus) == 17
    assert set(state.richmenu_images) == set(state.richmenus)
    assert all(image[1][:8] == b"\x89PNG\r\n\x1a\n" for image in state.richmenu_images.values())
    assert state.richmenu_aliases == {alias_for(loc): report["ids"][loc] for loc in LOCALES}
    assert state.default_richmenu == report["ids"]["en"] and report["default_set"] is True
    assert report["linked"] == 1 and state.user_richmenus["Uexisting-ne"] == report["ids"]["ne"]
    assert services.rich_menu_links.menu_for("vi") == report["ids"]["vi"]   # the worker's copy in Redis

    writes = [c for c in state.calls if c["endpoint"] != "richmenu.bulk_link"]
    again = _deploy_command(settings, LINE_API_DATA_HOST=fake_line.url)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.report["created"] == [] and again.report["deleted"] == [] and again.report["aliases_set"] == []
    assert sorted(again.report["unchanged"]) == sorted(LOCALES) and again.report["ids"] == report["ids"]
    assert again.report["default_set"] is False and len(state.richmenus) == 17
    assert [c for c in state.calls if c["endpoint"] != "richmenu.bulk_link"] == writes   # no create, alias or delete
