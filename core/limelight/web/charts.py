"""Charts for dashboard pages: server-side SVG in the dashboard's dark theme, made by pygal.

One helper for every chart in Limelight (the stream report, the Members page's revenue, a
drop's sales, a plugin's own page), so every chart looks like the same product: transparent
background on the dark card, the dashboard's text colours and accent, whole-number axes
for counts, and no script. The picture goes in an ``<img>`` (a ``data:`` URI from
:func:`data_uri`, or a route that returns :func:`svg_response`): an image runs no script
and loads nothing, so the dashboard's Content-Security-Policy stays as strict as
everywhere else. pygal's own tooltip script is removed; pygal writes every label through
an XML serialiser, so text (a tier's label, a product's name) is escaped.

pygal is imported on the first chart, not at every start: it takes about 0.3 s.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Sequence
from typing import Any, Literal

from aiohttp import web

from .security import secure

#: The kinds of chart, by pygal class name.
ChartKind = Literal["bar", "stacked_bar", "line", "horizontal_bar", "xy"]
_KINDS = {
    "bar": "Bar",
    "stacked_bar": "StackedBar",
    "line": "Line",
    "horizontal_bar": "HorizontalBar",
    "xy": "XY",
}
#: The dashboard's palette (admin.css), accent first.
PALETTE = ("#7c6cff", "#3fb97a", "#f0a030", "#e5534b", "#4cb3d4", "#d46cc4")
CHART_WIDTH, CHART_HEIGHT = 960, 320
#: The picture's own policy when served from a route: no script, no fetches.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


@functools.cache
def style(colors: tuple[str, ...] = PALETTE) -> Any:
    """The dashboard's dark theme with ``colors`` for the series, in order."""
    from pygal.style import Style

    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#e8e8ee",
        foreground_strong="#e8e8ee",
        foreground_subtle="#2c3140",
        opacity=".85",
        opacity_hover="1",
        transition="0s",
        font_family="system-ui, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        value_font_size=12,
        title_font_size=15,
        no_data_font_size=16,
        colors=colors,
    )


def chart(
    kind: ChartKind,
    labels: Sequence[str] = (),
    *,
    colors: Sequence[str] | None = None,
    width: int = CHART_WIDTH,
    height: int = CHART_HEIGHT,
    empty: str = "Nothing yet",
    **options: Any,
) -> Any:
    """A pygal chart of ``kind`` in the dashboard's theme; add series with ``.add()``.

    ``labels`` label the x axis (about eight of them are shown, however many buckets);
    ``colors`` give the series' colours in order (default: the dashboard's palette);
    ``empty`` is what the picture says when no series has a value. Other keyword
    arguments go to pygal unchanged.
    """
    import pygal

    options.setdefault("legend_at_bottom", True)
    drawn = getattr(pygal, _KINDS[kind])(
        style=style(tuple(colors) if colors else PALETTE),
        js=[],
        width=width,
        height=height,
        title=options.pop("title", None),  # usually the card's heading says it
        tooltip_fancy_mode=False,
        x_label_rotation=0,
        show_minor_x_labels=kind == "xy",  # an XY chart's own labels are all "minor"
        truncate_label=-1,
        print_values=False,
        include_x_axis=True,
        explicit_size=True,
        margin=12,
        no_data_text=empty,
        **options,
    )
    drawn.value_formatter = tidy
    if labels:
        drawn.x_labels = list(labels)
        drawn.x_labels_major = list(labels)[:: max(1, len(labels) // 8)]
    return drawn


def tidy(value: float | None) -> str:
    """A number as an axis reads it: ``889`` not ``888.8888889``, ``2.5`` not ``2.50``.
    (A second axis's labels are computed by scaling the first's, so they are rarely
    round.) Money a person reads comes from exact minor units instead: set the chart's
    ``value_formatter`` to the money formatter."""
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def whole_numbers(drawn: Any, values: Sequence[int], axis: Literal["x", "y"] = "y") -> None:
    """A count's axis in whole numbers (pygal would label 0.1, 0.2, ... for small ones)."""
    top = max(values, default=0)
    if top <= 10:
        setattr(drawn, f"{axis}_labels", list(range(0, max(top, 1) + 1)))
    drawn.value_formatter = lambda value: f"{value:,.0f}"


def to_svg(drawn: Any) -> str:
    """The chart as SVG text, without pygal's script. A chart with nothing to show says
    its ``empty`` text alone, without an axis of made-up numbers."""
    if not any(_has_value(values) for values, _ in drawn.raw_series):
        drawn.raw_series = []  # pygal then draws its no-data text
        drawn.y_labels = drawn.x_labels = None
        drawn.show_y_labels = drawn.show_x_labels = False
        drawn.show_y_guides = drawn.show_x_guides = False
        drawn.show_legend = False
        drawn.x_title = drawn.y_title = None
    return _SCRIPT.sub("", drawn.render(is_unicode=True))


def _has_value(values: Any) -> bool:
    for value in values or ():
        point = value.get("value") if isinstance(value, dict) else value
        if isinstance(point, tuple | list):
            point = point[-1]
        if point:
            return True
    return False


def data_uri(drawn: Any) -> str:
    """The chart as an SVG ``data:`` URI for an ``<img src>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(to_svg(drawn).encode()).decode()


def svg_response(drawn: Any) -> web.Response:
    """The chart as a route's answer: ``image/svg+xml``, its own strict policy, not cached."""
    response = web.Response(text=to_svg(drawn), content_type="image/svg+xml")
    return secure(response, csp=SVG_CSP)


__all__ = [
    "CHART_HEIGHT",
    "CHART_WIDTH",
    "PALETTE",
    "ChartKind",
    "chart",
    "data_uri",
    "style",
    "svg_response",
    "tidy",
    "to_svg",
    "whole_numbers",
]
