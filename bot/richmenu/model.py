"""flows/richmenu.yaml: load it, check it against LINE's rules, and build LINE's request per locale."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot import LOCALES
from bot.content.i18n import Catalog
from bot.content.yamlfile import YamlFileError, load_yaml_with_lines
from bot.dialogue.messages import MAX_LABEL_CHARS, MAX_POSTBACK_DATA

MENU_FILE = "richmenu.yaml"
IMAGES_DIR = "richmenu/images"           # an admin's designed images: <locale>.png or .jpg
MAX_CHAT_BAR = 14
MAX_AREAS = 20
MAX_IMAGE_BYTES = 1024 * 1024
MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT, MIN_RATIO = 800, 2500, 250, 1.45
ACTION_TYPES = {"postback", "uri"}


@dataclass(frozen=True)
class Area:
    id: str
    label_key: str
    color: str
    action: dict
    bounds: dict        # x, y, width, height


@dataclass(frozen=True)
class RichMenuSpec:
    width: int
    height: int
    chat_bar_key: str
    background: str
    areas: tuple[Area, ...]
    path: Path

    def request(self, catalog: Catalog, locale: str, name: str) -> dict:
        """The body of POST /v2/bot/richmenu for one locale."""
        areas = []
        for area in self.areas:
            label = catalog.text(locale, area.label_key)
            action = {"type": area.action["type"], "label": label[:MAX_LABEL_CHARS]}
            if area.action["type"] == "postback":
                action.update(data=area.action["data"], displayText=label)
            else:
                action["uri"] = area.action["uri"]
            areas.append({"bounds": dict(area.bounds), "action": action})
        return {"size": {"width": self.width, "height": self.height}, "selected": False, "name": name,
                "chatBarText": catalog.text(locale, self.chat_bar_key), "areas": areas}

    def designed_image(self, flows_dir: Path, locale: str) -> Path | None:
        for suffix in (".png", ".jpg", ".jpeg"):
            path = flows_dir / IMAGES_DIR / f"{locale}{suffix}"
            if path.is_file():
                return path
        return None


class RichMenuError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def load_rich_menu(flows_dir: Path) -> RichMenuSpec:
    """The menu from flows/richmenu.yaml; RichMenuError lists every problem with its line."""
    path = flows_dir / MENU_FILE
    try:
        data, lines = load_yaml_with_lines(path)
    except YamlFileError as exc:
        raise RichMenuError([str(exc)]) from None
    except FileNotFoundError:
        raise RichMenuError([f"{path}:1: missing; see flows/README.md for the rich menu file"]) from None
    problems: list[str] = []
    where = lambda key: f"{path}:{lines.get(key, 1)}"   # noqa: E731
    data = _mapping(data)
    size = _mapping(data.get("size"))
    width, height = size.get("width"), size.get("height")
    if not (isinstance(width, int) and isinstance(height, int)):
        problems.append(f"{where('size')}: size needs whole-number width and height (2500 x 1686 or 2500 x 843)")
        width, height = MAX_WIDTH, 1686
    problems += _size_problems(where("size"), width, height)
    raw_areas = data.get("areas")
    raw_areas = raw_areas if isinstance(raw_areas, list) else []
    if not 1 <= len(raw_areas) <= MAX_AREAS:
        problems.append(f"{where('areas')}: a rich menu has 1 to {MAX_AREAS} areas; this one has {len(raw_areas)}")
    areas = []
    for index, raw in enumerate(raw_areas):
        def area_where(key: str, i: int = index) -> str:
            return where(f"areas.{i}.{key}") if f"areas.{i}.{key}" in lines else where("areas")
        area, area_problems = _area(raw, index, width, height, area_where)
        problems += area_problems
        if area:
            areas.append(area)
    problems += _overlaps(areas, where("areas"))
    chat_bar = data.get("chat_bar")
    if not isinstance(chat_bar, str) or not chat_bar:
        problems.append(f"{where('chat_bar')}: chat_bar must name a locale text key (like richmenu.chat_bar)")
    if problems or not isinstance(chat_bar, str):
        raise RichMenuError(problems)
    return RichMenuSpec(width, height, chat_bar, str(data.get("background", "#ffffff")), tuple(areas), path)


def _mapping(value: object) -> dict:
    """A YAML mapping, or an empty one for anything else (the checks then name what is missing)."""
    return value if isinstance(value, dict) else {}


def _size_problems(where: str, width: int, height: int) -> list[str]:
    problems = []
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        problems.append(f"{where}: width {width} px: LINE takes {MIN_WIDTH} to {MAX_WIDTH} px")
    if height < MIN_HEIGHT:
        problems.append(f"{where}: height {height} px: LINE needs at least {MIN_HEIGHT} px")
    if height and width / height < MIN_RATIO:
        problems.append(f"{where}: width/height is {width / height:.2f}; LINE needs at least {MIN_RATIO}")
    return problems


def _area(raw, index: int, width: int, height: int, where) -> tuple[Area | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"{where('id')}: area {index + 1} must be a mapping with id, label, action and bounds"]
    problems = []
    bounds = _mapping(raw.get("bounds"))
    # Anything but a whole number counts as -1, which the check below refuses.
    x, y, w, h = (v if isinstance(v, int) else -1 for v in (bounds.get(k) for k in ("x", "y", "width", "height")))
    if w < 1 or h < 1 or x < 0 or y < 0:
        problems.append(f"{where('bounds')}: area {index + 1}: "
                        "bounds need whole numbers x, y ≥ 0 and width, height ≥ 1")
    elif x + w > width or y + h > height:
        problems.append(f"{where('bounds')}: area {index + 1} ends at {x + w} x {y + h}, "
                        f"outside the {width} x {height} image")
    action = _mapping(raw.get("action"))
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        problems.append(f"{where('action')}: area {index + 1}: action type must be postback or uri")
    elif kind == "postback" and not (isinstance(action.get("data"), str)
                                     and 0 < len(action["data"]) <= MAX_POSTBACK_DATA):
        problems.append(f"{where('action')}: area {index + 1}: "
                        f"postback data must be 1 to {MAX_POSTBACK_DATA} characters")
    elif kind == "uri" and not str(action.get("uri", "")).startswith(("https://", "http://", "tel:", "line://")):
        problems.append(f"{where('action')}: area {index + 1}: uri must start with https://, http://, tel: or line://")
    label = raw.get("label")
    if not isinstance(label, str) or not label:
        problems.append(f"{where('label')}: area {index + 1}: label must name a locale text key (like menu.birth)")
    if problems or not isinstance(label, str):
        return None, problems
    return Area(str(raw.get("id", f"area{index + 1}")), label, str(raw.get("color", "#f4f4f4")), dict(action),
                {"x": x, "y": y, "width": w, "height": h}), []


def _overlaps(areas: list[Area], where: str) -> list[str]:
    problems = []
    for i, a in enumerate(areas):
        for b in areas[i + 1:]:
            ab, bb = a.bounds, b.bounds
            if ab["x"] < bb["x"] + bb["width"] and bb["x"] < ab["x"] + ab["width"] and \
                    ab["y"] < bb["y"] + bb["height"] and bb["y"] < ab["y"] + ab["height"]:
                problems.append(f"{where}: areas '{a.id}' and '{b.id}' overlap; a tap must mean one thing")
    return problems


def check_rich_menu(flows_dir: Path, catalog: Catalog) -> list[str]:
    """Offline: the file, every locale's chat bar text and labels, and any designed image."""
    try:
        spec = load_rich_menu(flows_dir)
    except RichMenuError as exc:
        return exc.problems
    problems = []
    for locale in LOCALES:
        refs = catalog.refs.get(locale, {})
        for key, limit in [(spec.chat_bar_key, MAX_CHAT_BAR)] + [(a.label_key, MAX_LABEL_CHARS) for a in spec.areas]:
            text = catalog.texts.get(locale, {}).get(key)
            where = f"locales/{locale}.yaml:{getattr(refs.get(key), 'line', 1)}"
            if not isinstance(text, str):
                problems.append(f"{where}: the rich menu needs the text '{key}'; add it")
            elif len(text) > limit:
                problems.append(f"{where}: '{key}' has {len(text)} characters; "
                                f"the rich menu allows {limit}: shorten it")
        problems += _designed_image_problems(spec, flows_dir, locale)
    return problems


def _designed_image_problems(spec: RichMenuSpec, flows_dir: Path, locale: str) -> list[str]:
    path = spec.designed_image(flows_dir, locale)
    if path is None:
        return []
    from PIL import Image, UnidentifiedImageError
    problems = []
    if path.stat().st_size > MAX_IMAGE_BYTES:
        problems.append(f"{path}:1: {path.stat().st_size} bytes; LINE takes at most 1 MB: compress it")
    try:
        with Image.open(path) as image:
            if image.size != (spec.width, spec.height):
                problems.append(f"{path}:1: the image is {image.size[0]} x {image.size[1]}; the menu is "
                                f"{spec.width} x {spec.height} (flows/richmenu.yaml size)")
            if image.format not in {"PNG", "JPEG"}:
                problems.append(f"{path}:1: {image.format} image; LINE takes PNG or JPEG")
    except (UnidentifiedImageError, OSError):
        problems.append(f"{path}:1: not a readable PNG or JPEG image")
    return problems
