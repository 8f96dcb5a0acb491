"""Sales over time for one drop, as a server-side SVG chart in the dashboard's theme.

Why on the server: the dashboard's CSP allows no inline script, and an SVG made here is
also what the CSV-minded streamer can save. The picture comes from the dashboard's one
chart helper (:mod:`limelight.web.charts`), which escapes every label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from limelight.web.charts import chart

WIDTH, HEIGHT = 640, 240


def sales_chart(title: str, sales: list[tuple[datetime, int]], opened_at: datetime | None) -> Any:
    """Cumulative units sold against minutes since the drop opened, as steps (a sale is
    a jump, not a slope)."""
    start = opened_at or (sales[0][0] if sales else None)
    points: list[tuple[float, int]] = [(0.0, 0)]
    total = 0
    for when, count in sales:
        minutes = max(0.0, (when - start).total_seconds() / 60) if start else 0.0
        points.append((minutes, total))
        total += count
        points.append((minutes, total))
    drawn = chart(
        "xy",
        width=WIDTH,
        height=HEIGHT,
        title=f"{title}: {total} sold",
        show_legend=False,
        show_dots=False,
        x_title="minutes since the drop opened",
        empty="No sales yet",
    )
    drawn.value_formatter = lambda count: f"{count:,.0f}"
    digits = 0 if points[-1][0] >= 5 else 1  # a rush of a minute reads 0.2, 0.5, ...
    drawn.x_value_formatter = lambda minutes: f"{minutes:,.{digits}f}"
    drawn.add("Units sold", points if total else [], stroke_style={"width": 3})
    return drawn
