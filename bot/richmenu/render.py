"""Draw one rich menu image per locale: coloured tiles with each area's label, shaped correctly.

Burmese, Sinhala, Devanagari, Bengali and Thai need a shaping engine (stacked and reordered
marks): Pillow's RAQM layout (libraqm: HarfBuzz + FriBiDi) does it, with a Noto font that has the
script. Without them the text comes out as boxes or broken letters, so rendering refuses to run
and says what to install instead of drawing a wrong menu.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from bot.content.i18n import Catalog
from bot.richmenu.model import MAX_IMAGE_BYTES, Area, RichMenuSpec

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
INSTALL_HINT = "install them with: apt-get install fonts-noto-core fonts-noto-cjk libraqm0 (scripts/setup.sh does)"
# (file name, index in a .ttc collection). Noto Sans CJK's collection: 0 JP, 1 KR, 2 SC, 3 TC.
CJK = "NotoSansCJK-Bold.ttc"
FONT_FOR_LOCALE = {
    "ja": (CJK, 0), "ja-easy": (CJK, 0), "ko": (CJK, 1), "zh-Hans": (CJK, 2), "zh-Hant": (CJK, 3),
    "my": ("NotoSansMyanmar-Bold.ttf", 0), "si": ("NotoSansSinhala-Bold.ttf", 0),
    "th": ("NotoSansThai-Bold.ttf", 0), "hi": ("NotoSansDevanagari-Bold.ttf", 0),
    "ne": ("NotoSansDevanagari-Bold.ttf", 0), "bn": ("NotoSansBengali-Bold.ttf", 0),
}
LATIN_FONT = ("NotoSans-Bold.ttf", 0)
TEXT_COLOR = "#1f2d3d"
BORDER_COLOR = "#c9d1d9"
LARGEST, SMALLEST = 120, 56        # font sizes in px; a phone shows the 2500 px image about 1/6 as large


class RenderError(Exception):
    """The fonts or the shaping library are missing: nothing is drawn."""


@dataclass(frozen=True)
class FontChoice:
    path: Path
    index: int


@dataclass(frozen=True)
class LabelLayout:
    """Where a label was drawn, so tests can compare it against a reference rendering."""
    area_id: str
    text: str
    lines: tuple[str, ...]
    size: int
    box: tuple[int, int, int, int]      # left, top, right, bottom of the text in the image
    line_boxes: tuple[tuple[int, int, int, int], ...] = ()     # the same, per line


@dataclass(frozen=True)
class RenderedMenu:
    locale: str
    png: bytes
    labels: tuple[LabelLayout, ...]
    font: FontChoice


def font_for(locale: str) -> FontChoice:
    name, index = FONT_FOR_LOCALE.get(locale, LATIN_FONT)
    path = _find_font_file(name)
    if path is None:
        raise RenderError(f"the font {name} for '{locale}' is not installed; {INSTALL_HINT}")
    return FontChoice(path, index)


@cache
def _find_font_file(name: str) -> Path | None:
    for directory in FONT_DIRS:
        if directory.is_dir():
            found = next(directory.rglob(name), None)
            if found:
                return found
    return None


def require_shaping() -> None:
    if not features.check("raqm"):
        raise RenderError(f"Pillow cannot shape complex scripts (libraqm missing); {INSTALL_HINT}")


@lru_cache(maxsize=256)
def load_font(choice: FontChoice, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(choice.path), size, index=choice.index, layout_engine=ImageFont.Layout.RAQM)


def render_menu(spec: RichMenuSpec, catalog: Catalog, locale: str) -> RenderedMenu:
    require_shaping()
    choice = font_for(locale)
    image = Image.new("RGB", (spec.width, spec.height), spec.background)
    draw = ImageDraw.Draw(image)
    labels = tuple(_draw_area(draw, area, catalog.text(locale, area.label_key), choice) for area in spec.areas)
    png = _png(image)
    if len(png) > MAX_IMAGE_BYTES:
        raise RenderError(f"the {locale} image is {len(png)} bytes; LINE takes at most 1 MB")
    return RenderedMenu(locale, png, labels, choice)


def _draw_area(draw: ImageDraw.ImageDraw, area: Area, text: str, choice: FontChoice) -> LabelLayout:
    b = area.bounds
    margin = 16
    draw.rectangle((b["x"] + margin, b["y"] + margin, b["x"] + b["width"] - margin, b["y"] + b["height"] - margin),
                   fill=area.color, outline=BORDER_COLOR, width=6)
    room = b["width"] - 2 * margin - 80
    size, lines = fit_label(text, choice, room)
    line_height = round(size * 1.45)
    top = b["y"] + (b["height"] - line_height * len(lines)) // 2
    line_boxes = []
    for number, line in enumerate(lines):
        baseline = top + number * line_height + round(size * 1.05)
        line_boxes.append(_enclosing(_draw_line(draw, line, choice, size, b["x"] + b["width"] // 2, baseline)))
    return LabelLayout(area.id, text, tuple(lines), size, _enclosing(line_boxes), tuple(line_boxes))


def _enclosing(boxes) -> tuple[int, int, int, int]:
    return (int(min(x[0] for x in boxes)), int(min(x[1] for x in boxes)),
            int(max(x[2] for x in boxes)), int(max(x[3] for x in boxes)))


def _draw_line(draw: ImageDraw.ImageDraw, line: str, choice: FontChoice, size: int, centre_x: int, baseline: int):
    """One line, centred, each run in a font that has its characters (a Thai font has no '/')."""
    runs = font_runs(line, choice)
    x = centre_x - line_width(line, choice, size) / 2
    boxes = []
    for run, run_choice in runs:
        font = load_font(run_choice, size)
        draw.text((x, baseline), run, font=font, fill=TEXT_COLOR, anchor="ls")
        boxes.append(draw.textbbox((x, baseline), run, font=font, anchor="ls"))
        x += font.getlength(run)
    return boxes


def line_width(line: str, choice: FontChoice, size: int) -> float:
    return sum(load_font(run_choice, size).getlength(run) for run, run_choice in font_runs(line, choice))


def font_runs(line: str, choice: FontChoice) -> list[tuple[str, FontChoice]]:
    """Split a line where the script's font lacks a character (punctuation, mostly): those go to the
    Latin font. Runs keep whole stretches of the script together, so shaping is not broken up."""
    fallback = font_for("en")
    runs: list[tuple[str, FontChoice]] = []
    for char in line:
        use = choice if has_glyph(choice, char) or not has_glyph(fallback, char) else fallback
        if runs and runs[-1][1] == use:
            runs[-1] = (runs[-1][0] + char, use)
        else:
            runs.append((char, use))
    return runs


@lru_cache(maxsize=4096)
def has_glyph(choice: FontChoice, char: str) -> bool:
    """False when the font would draw its 'missing' box for `char` (compared with a private-use
    character, which no Noto font has)."""
    return char.isspace() or _glyph_pixels(choice, char) != _glyph_pixels(choice, "\ue000")


def _glyph_pixels(choice: FontChoice, char: str) -> bytes:
    image = Image.new("L", (96, 96))
    ImageDraw.Draw(image).text((16, 72), char, font=load_font(choice, 48), fill=255, anchor="ls")
    return image.tobytes()


def fit_label(text: str, choice: FontChoice, room: int) -> tuple[int, list[str]]:
    """The largest size at which the label fits `room` px wide: one line if it can, else split at a space."""
    candidates = [[text]] + [[text[:i].rstrip(), text[i:].lstrip()] for i in _break_positions(text)]
    for size in range(LARGEST, SMALLEST - 1, -4):
        widths = {tuple(lines): max(line_width(line, choice, size) for line in lines) for lines in candidates}
        fitting = [lines for lines in candidates if widths[tuple(lines)] <= room]
        if fitting:
            return size, min(fitting, key=lambda lines: (len(lines), widths[tuple(lines)]))
    return SMALLEST, min(candidates, key=lambda lines: max(line_width(line, choice, SMALLEST) for line in lines))


def _break_positions(text: str) -> list[int]:
    """Where a label may wrap: at a space, or after a slash or a middle dot (scripts without spaces)."""
    return [i + (char != " ") for i, char in enumerate(text) if char in " /・" and 0 < i < len(text) - 1]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
