"""Dashboard charts: SVG drawn on the server by pygal, inlined in the page (nothing is fetched, no
script runs). Each bar links to the list it counts."""

from __future__ import annotations

import math
import re
import typing as t
from functools import lru_cache

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="transparent", plot_background="transparent", colors=("#4a7fb5",),
    font_family="'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif", label_font_size=12,
    major_label_font_size=12, value_font_size=11, foreground="#333", foreground_strong="#333", foreground_subtle="#888",
)
# pygal adds an inline <script> with its config for an optional tooltip library we do not load.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
# Without a title pygal names the SVG "Pygal", which the browser shows as the chart's tooltip.
_DEFAULT_TITLE = "<title>Pygal</title>"


class Bar(t.Protocol):
    label: str
    n: int
    url: str


def bar_chart(bars: t.Sequence[Bar], *, horizontal: bool = True, title: str | None = None) -> Markup:
    """A bar chart of (label, n, url) bars as inline SVG; empty Markup when there is nothing to draw."""
    return _drawn(tuple((str(b.label), b.n, b.url) for b in bars), horizontal, None if title is None else str(title))


# The SVG is a function of the bars' words, numbers and links alone, and pygal takes ~5 ms a chart:
# a dashboard's two charts are drawn again only when one of those changes (a count moves, or
# another language). ~10 KB a chart; 256 charts is a few MB per worker.
@lru_cache(maxsize=256)
def _drawn(bars: tuple[tuple[str, int, str], ...], horizontal: bool, title: str | None) -> Markup:
    top = max((n for _label, n, _url in bars), default=0)
    if top == 0:
        return Markup("")  # the page says so in words
    if horizontal:
        bars = tuple(reversed(bars))  # pygal draws the first bar at the bottom; read top-down instead
    step = max(1, math.ceil(top / 5))
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    height = 40 + 26 * len(bars) if horizontal else 260
    chart = kind(style=STYLE, js=[], show_legend=False, width=640, height=height, print_values=True,
                 show_y_guides=False, margin=4, spacing=6, title=title, truncate_label=-1,
                 margin_left=40 if horizontal else 4,  # pygal measures CJK labels as if Latin: give them room
                 x_label_rotation=0 if horizontal else 30, y_labels=list(range(0, top + step, step)))
    chart.x_labels = [label for label, _n, _url in bars]
    chart.add("", [{"value": n, "label": label, "xlink": {"href": url, "target": "_self"}} for label, n, url in bars])
    svg = chart.render(is_unicode=True, disable_xml_declaration=True)
    svg = _SCRIPT.sub("", svg).replace(_DEFAULT_TITLE, "<title>统计图</title>", 1)
    return Markup(svg)  # pygal builds the SVG with lxml, which escapes every text
