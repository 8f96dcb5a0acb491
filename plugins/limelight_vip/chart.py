"""Revenue per tier and month, and its bar chart as a small server-side SVG.

Why server-side: the dashboard runs under a CSP without inline script and loads no chart
library; an ``<img src="/api/vip/revenue.svg">`` is all the page needs. Every label in the
picture is escaped (tier labels are the streamer's text, but text is text).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from xml.sax.saxutils import escape

from limelight import Money

from .models import Membership

WIDTH = 720
HEIGHT = 260
PAD_LEFT = 64
PAD_BOTTOM = 40
PAD_TOP = 16
LEGEND = 150


async def revenue(months: int = 12) -> dict[str, object]:
    """``{"currency", "months": [...], "tiers": {tier: [minor per month]}, "other": {...}}``
    for the most used currency; revoked (refunded) grants do not count."""
    rows = await Membership.filter(amount_minor__not_isnull=True, revoked_at=None).only(
        "tier", "amount_minor", "currency", "created_at"
    )
    by_currency: dict[str, int] = defaultdict(int)
    for row in rows:
        by_currency[row.currency] += 1
    if not by_currency:
        return {"currency": "", "months": [], "tiers": {}, "totals": {}}
    currency = max(by_currency, key=lambda c: by_currency[c])
    labels = _last_months(months)
    table: dict[str, list[int]] = {}
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row.currency] += int(row.amount_minor or 0)
        if row.currency != currency:
            continue
        month = row.created_at.strftime("%Y-%m")
        if month not in labels:
            continue
        table.setdefault(row.tier, [0] * len(labels))[labels.index(month)] += int(
            row.amount_minor or 0
        )
    return {
        "currency": currency,
        "months": labels,
        "tiers": table,
        "totals": {c: Money(v, c).to_wire() for c, v in totals.items()},
    }


def _last_months(count: int, now: datetime | None = None) -> list[str]:
    now = now or datetime.now()
    year, month = now.year, now.month
    out: list[str] = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def svg(
    data: dict[str, object], colours: dict[str, str], labels: dict[str, str], money: object
) -> str:
    """Stacked bars, one per month, one colour per tier; ``money`` formats the top value."""
    months: list[str] = list(data.get("months") or [])  # type: ignore[call-overload]
    tiers: dict[str, list[int]] = dict(data.get("tiers") or {})  # type: ignore[call-overload]
    currency = str(data.get("currency") or "")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Membership revenue per month">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    if not months or not tiers:
        parts.append(
            f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle" '
            'font-family="sans-serif" font-size="14" fill="#666">No membership revenue yet</text>'
            "</svg>"
        )
        return "".join(parts)
    sums = [sum(values[i] for values in tiers.values()) for i in range(len(months))]
    top = max(max(sums), 1)
    plot_w = WIDTH - PAD_LEFT - LEGEND
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / len(months)
    bar = max(4.0, slot * 0.7)
    fmt = money if callable(money) else str
    top_label = fmt(Money(top, currency)) if currency else str(top)
    parts.append(
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 10}" text-anchor="end" font-family="sans-serif" '
        f'font-size="11" fill="#333">{escape(str(top_label))}</text>'
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{PAD_LEFT + plot_w}" '
        f'y2="{PAD_TOP + plot_h}" stroke="#999"/>'
    )
    for i, month in enumerate(months):
        x = PAD_LEFT + i * slot + (slot - bar) / 2
        y = float(PAD_TOP + plot_h)
        for tier, values in tiers.items():
            height = plot_h * values[i] / top
            if height <= 0:
                continue
            y -= height
            colour = colours.get(tier, "#888888")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{escape(colour)}"><title>{escape(labels.get(tier, tier))} {month}: '
                f"{escape(str(fmt(Money(values[i], currency))))}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="10" fill="#333">{escape(month[2:])}</text>'
        )
    for j, tier in enumerate(tiers):
        ly = PAD_TOP + 14 + j * 18
        lx = WIDTH - LEGEND + 12
        parts.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
            f'fill="{escape(colours.get(tier, "#888888"))}"/>'
            f'<text x="{lx + 18}" y="{ly}" font-family="sans-serif" font-size="12" fill="#333">'
            f"{escape(labels.get(tier, tier)[:20])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
