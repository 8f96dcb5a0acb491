"""Sales over time for one drop, as a server-side SVG (no script, no external font).

Why on the server: the dashboard's CSP allows no inline script, and an SVG made here is
also what the CSV-minded streamer can save. Text in it is escaped.
"""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 16, 28, 32


def sales_svg(title: str, sales: list[tuple[datetime, int]], opened_at: datetime | None) -> str:
    """Cumulative units sold against minutes since the drop opened."""
    start = opened_at or (sales[0][0] if sales else None)
    points: list[tuple[float, int]] = [(0.0, 0)]
    total = 0
    for when, count in sales:
        total += count
        minutes = max(0.0, (when - start).total_seconds() / 60) if start else 0.0
        points.append((minutes, total))
    span = max(max(p[0] for p in points), 1.0)
    top = max(total, 1)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def xy(minutes: float, count: int) -> str:
        x = PAD_LEFT + plot_w * minutes / span
        y = PAD_TOP + plot_h * (1 - count / top)
        return f"{x:.1f},{y:.1f}"

    path = []
    last = 0
    for minutes, count in points:
        path.append(xy(minutes, last))
        path.append(xy(minutes, count))
        last = count
    path.append(xy(span, last))
    axis_y = PAD_TOP + plot_h
    label = escape(title, {'"': "&quot;"})
    right = WIDTH - PAD_RIGHT
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label} sales">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#16161d"/>'
        f'<text x="{PAD_LEFT}" y="18" fill="#e8e8f0" font-family="sans-serif" font-size="13">'
        f"{escape(title)}: {total} sold</text>"
        f'<line x1="{PAD_LEFT}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="#555"/>'
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{axis_y}" stroke="#555"/>'
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 4}" fill="#aaa" font-family="sans-serif" '
        f'font-size="11" text-anchor="end">{top}</text>'
        f'<text x="{PAD_LEFT - 6}" y="{axis_y}" fill="#aaa" font-family="sans-serif" '
        f'font-size="11" text-anchor="end">0</text>'
        f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 10}" fill="#aaa" font-family="sans-serif" '
        f'font-size="11" text-anchor="end">{span:.0f} min</text>'
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 10}" fill="#aaa" font-family="sans-serif" '
        f'font-size="11">opened</text>'
        f'<polyline fill="none" stroke="#7c5cff" stroke-width="2.5" points="{" ".join(path)}"/>'
        "</svg>"
    )
