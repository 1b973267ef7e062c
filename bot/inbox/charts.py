"""Small server-rendered SVG charts: no JavaScript, no CDN, readable on a phone."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d")


def stacked_bars(labels: list[str], series: Mapping[str, Sequence[float]], title: str, width: int = 640,
                 height: int = 220, html_legend: bool = False) -> str:
    """One bar per label, stacked by series; a legend under the chart (or, with `html_legend`, none
    inside: the page writes title and legend as text, readable on a phone, see `legend`)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals + [1])
    left, bottom, plot_h = 30, 30, height - 50
    bar_w = (width - left - 10) / max(1, len(labels))
    legend_rows = 0 if html_legend else (len(series) + 3) // 4
    parts = [f'<svg viewBox="0 0 {width} {height + 20 * legend_rows}" role="img" aria-label="{escape(title)}" '
             f'style="width:100%;height:auto;background:#fff">',
             "" if html_legend else f'<text x="{left}" y="14" font-size="13" font-weight="600">{escape(title)}</text>',
             f'<text x="2" y="{20 + 4}" font-size="14">{int(top)}</text>']
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    for i, label in enumerate(labels):
        y: float = height - bottom
        for name, values in series.items():
            h = plot_h * values[i] / top
            if h:
                parts.append(f'<rect x="{left + i * bar_w:.1f}" y="{y - h:.1f}" width="{max(1, bar_w - 2):.1f}" '
                             f'height="{h:.1f}" fill="{colours[name]}">'
                             f'<title>{escape(label)} {escape(name)}: {values[i]:g}</title></rect>')
                y -= h
        if len(labels) <= 31 and (i % max(1, len(labels) // 8) == 0):
            size = 14 if html_legend else 10
            parts.append(f'<text x="{left + i * bar_w:.1f}" y="{height - 12}" font-size="{size}">'
                         f'{escape(label)}</text>')
    for i, name in enumerate([] if html_legend else series):
        x, y = left + (i % 4) * 150, height + 8 + 20 * (i // 4)     # room for Japanese names
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colours[name]}"/>'
                     f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(labels: list[str], values: list[float | None], title: str, unit: str = "", width: int = 640, height: int = 200,
         html_legend: bool = False) -> str:
    return stacked_bars(labels, {unit or title: [v or 0 for v in values]}, title, width, height, html_legend)


def legend(names: list[str]) -> list[tuple[str, str]]:
    """(name, colour) of each series, in the colours stacked_bars gives them."""
    return [(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)]
