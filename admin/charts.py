"""Dashboard charts: SVG drawn on the server by pygal, inlined in the page (nothing is fetched, no
script runs). Each bar links to the list it counts."""

from __future__ import annotations

import math
import re
import typing as t

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
    top = max((b.n for b in bars), default=0)
    if top == 0:
        return Markup("")  # the page says so in words
    if horizontal:
        bars = list(reversed(bars))  # pygal draws the first bar at the bottom; read top-down instead
    step = max(1, math.ceil(top / 5))
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    height = 40 + 26 * len(bars) if horizontal else 260
    chart = kind(style=STYLE, js=[], show_legend=False, width=640, height=height, print_values=True,
                 show_y_guides=False, margin=4, spacing=6, title=title, truncate_label=-1,
                 margin_left=40 if horizontal else 4,  # pygal measures CJK labels as if Latin: give them room
                 x_label_rotation=0 if horizontal else 30, y_labels=list(range(0, top + step, step)))
    chart.x_labels = [b.label for b in bars]
    chart.add("", [{"value": b.n, "label": b.label, "xlink": {"href": b.url, "target": "_self"}} for b in bars])
    svg = chart.render(is_unicode=True, disable_xml_declaration=True)
    svg = _SCRIPT.sub("", svg).replace(_DEFAULT_TITLE, "<title>统计图</title>", 1)
    return Markup(svg)  # pygal builds the SVG with lxml, which escapes every text
