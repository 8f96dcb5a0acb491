"""The one chart helper (``limelight.web.charts``) that the report, the Members page and
the shop draw with: dark theme, no script, text escaped, an empty chart says so alone."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from limelight.web.charts import PALETTE, chart, svg_response, tidy, to_svg
from limelight_shop.chart import sales_chart
from limelight_vip.chart import picture

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
SAFE_TAGS = {"svg", "defs", "style", "title", "desc", "g", "rect", "path", "text", "tspan", "line"}


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # parses: every label was escaped into well-formed XML
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_labels_are_text_and_no_script_survives() -> None:
    drawn = chart("bar", ["one", HOSTILE])
    drawn.add(HOSTILE, [1, 2])
    svg = to_svg(drawn)
    assert "<script" not in svg and "<img" not in svg
    assert HOSTILE in texts(svg)  # shown as the characters typed, not as markup
    root = ET.fromstring(svg)
    assert {n.tag.removeprefix(SVG) for n in root.iter()} <= SAFE_TAGS


def test_dark_theme_and_series_colours() -> None:
    drawn = chart("stacked_bar", ["a"], colors=["#e8b53a"])
    drawn.add("Gold", [5])
    svg = to_svg(drawn)
    assert "#e8b53a" in svg
    assert "fill:#fff" not in svg.replace(" ", "").lower()  # no white card on the dark page
    assert PALETTE[0] in to_svg(_with(chart("line", ["a"]), [1]))


def _with(drawn, values):  # type: ignore[no-untyped-def]
    drawn.add("series", values)
    return drawn


def test_an_empty_chart_says_so_without_an_axis_of_made_up_numbers() -> None:
    drawn = chart("bar", ["Mon", "Tue"], empty="No tips in this period")
    drawn.add("Tips", [0, 0])
    shown = texts(to_svg(drawn))
    assert "No tips in this period" in shown
    assert not [t for t in shown if t.strip().replace(".", "").isdigit()]


def test_vip_revenue_in_tier_colours_with_money_on_the_axis() -> None:
    data = {"currency": "EUR", "months": ["2026-10", "2026-11"], "tiers": {"gold": [0, 1250]}}
    svg = to_svg(picture(data, {"gold": "#e8b53a"}, {"gold": "Gold <b>"}, lambda m: m.to_wire()))
    shown = texts(svg)
    assert "Gold <b>" in shown and "Nov 26" in shown and "#e8b53a" in svg
    # the axis and each bar's value read as money, formatted from exact minor units
    assert "10.00" in shown and '<desc class="value">12.50</desc>' in svg
    assert "No membership revenue yet" in texts(to_svg(picture({}, {}, {}, str)))


def test_drop_sales_are_cumulative_steps() -> None:
    opened = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    drawn = sales_chart(
        "<b>Tee</b>",
        [(opened + timedelta(minutes=1), 2), (opened + timedelta(minutes=3), 1)],
        opened,
    )
    values = drawn.raw_series[0][0]
    assert values[-1] == (3.0, 3) and (1.0, 0) in values and (1.0, 2) in values  # minutes
    fast = sales_chart("Tee", [(opened + timedelta(seconds=12), 1)], opened)
    assert fast.raw_series[0][0][-1] == (12.0, 1) and fast.config.x_title.startswith("seconds")
    assert "<b>Tee</b>: 3 sold" in texts(to_svg(drawn))
    assert "No sales yet" in texts(to_svg(sales_chart("Tee", [], opened)))


def test_a_rush_sold_out_in_a_blink_has_an_axis_of_distinct_times() -> None:
    opened = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    sales = [(opened + timedelta(milliseconds=35 * n), 1) for n in range(1, 11)]
    shown = texts(to_svg(sales_chart("Tee", sales, opened)))
    ticks = [t for t in shown if t.replace(".", "").isdigit() and "." in t]
    assert len(ticks) > 3 and len(set(ticks)) == len(ticks), ticks  # not 0.0, 0.0, 0.1, ...


def test_a_served_chart_has_its_own_strict_policy() -> None:
    response = svg_response(_with(chart("bar", ["a"]), [1]))
    assert response.content_type == "image/svg+xml"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Cache-Control"] == "no-store"


def test_axis_numbers_are_tidy_also_on_a_second_axis() -> None:
    drawn = chart("bar", ["a", "b"])
    drawn.add("Tips", [18.5, 180])
    drawn.add("Bits", [0, 1000], secondary=True)
    shown = texts(to_svg(drawn))
    assert not [t for t in shown if "." in t and len(t.split(".")[1]) > 2], shown
    assert tidy(888.8888889) == "889" and tidy(2.5) == "2.5" and tidy(0.25) == "0.25"
