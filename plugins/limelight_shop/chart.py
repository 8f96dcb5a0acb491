"""Sales over time for one drop, as a server-side SVG chart in the dashboard's theme.

Why on the server: the dashboard's CSP allows no inline script, and an SVG made here is
also what the CSV-minded streamer can save. The picture comes from the dashboard's one
chart helper (:mod:`limelight.web.charts`), which escapes every label.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from limelight.web.charts import chart

WIDTH, HEIGHT = 640, 240


def sales_chart(title: str, sales: list[tuple[datetime, int]], opened_at: datetime | None) -> Any:
    """Cumulative units sold against the time since the drop opened, as steps (a sale is
    a jump, not a slope): in minutes, or in seconds when the whole rush took under two
    minutes (a drop that sells out at once reads 0 s, 12 s, ... not 0.0, 0.0, ...)."""
    start = opened_at or (sales[0][0] if sales else None)
    seconds = [max(0.0, (when - start).total_seconds()) if start else 0.0 for when, _ in sales]
    unit, scale = ("seconds", 1.0) if max(seconds, default=0.0) < 120 else ("minutes", 60.0)
    points: list[tuple[float, int]] = [(0.0, 0)]
    total = 0
    for at, (_, count) in zip(seconds, sales, strict=True):
        points.append((at / scale, total))
        total += count
        points.append((at / scale, total))
    drawn = chart(
        "xy",
        width=WIDTH,
        height=HEIGHT,
        title=f"{title}: {total} sold",
        show_legend=False,
        show_dots=False,
        x_title=f"{unit} since the drop opened",
        empty="No sales yet",
    )
    drawn.value_formatter = lambda count: f"{count:,.0f}"
    # as many decimals as the axis's steps (about a tenth of its length) need, so a rush
    # sold out in 0.3 s reads 0.05, 0.10, ... and not 0.0, 0.0, 0.1, 0.1
    step = points[-1][0] / 10
    digits = min(3, max(0, math.ceil(-math.log10(step)))) if step > 0 else 0
    drawn.x_value_formatter = lambda at: f"{at:,.{digits}f}"
    drawn.add("Units sold", points if total else [], stroke_style={"width": 3})
    return drawn
