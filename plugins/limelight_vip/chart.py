"""Revenue per tier and month, and its bar chart as a small server-side SVG.

Why server-side: the dashboard runs under a CSP without inline script and loads no chart
library; an ``<img src="/api/vip/revenue.svg">`` is all the page needs. The picture is made
by the dashboard's one chart helper (:mod:`limelight.web.charts`), which escapes every
label (tier labels are the streamer's text, but text is text).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from limelight import Money
from limelight.money import exponent
from limelight.web.charts import PALETTE, chart
from tortoise.backends.base.client import BaseDBAsyncClient

from .models import Membership

WIDTH = 720
HEIGHT = 280


async def revenue(months: int = 12, using: BaseDBAsyncClient | None = None) -> dict[str, object]:
    """``{"currency", "months": [...], "tiers": {tier: [minor per month]}, "other": {...}}``
    for the most used currency; revoked (refunded) grants do not count. Every paid grant
    ever made is read (the totals are all-time): the dashboard passes ``ctx.db.reader``
    as ``using``, so the read never holds up a commit."""
    rows = (
        await Membership.filter(amount_minor__not_isnull=True, revoked_at=None)
        .using_db(using)
        .only("tier", "amount_minor", "currency", "created_at")
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


def picture(
    data: dict[str, object], colours: dict[str, str], labels: dict[str, str], money: object
) -> Any:
    """Stacked bars, one per month, one colour per tier (the tier's own colour), in the
    dashboard's theme; ``money`` formats the axis and the values from exact minor units."""
    months: list[str] = list(data.get("months") or [])  # type: ignore[call-overload]
    tiers: dict[str, list[int]] = dict(data.get("tiers") or {})  # type: ignore[call-overload]
    currency = str(data.get("currency") or "")
    scale = 10 ** exponent(currency) if currency else 1
    fmt = money if callable(money) else str
    drawn = chart(
        "stacked_bar",
        [_month_label(m) for m in months],
        colors=[colours.get(tier, PALETTE[i % len(PALETTE)]) for i, tier in enumerate(tiers)],
        width=WIDTH,
        height=HEIGHT,
        empty="No membership revenue yet",
    )
    if currency:
        drawn.value_formatter = lambda major: str(fmt(Money(round(major * scale), currency)))
    for tier, values in tiers.items():
        drawn.add(labels.get(tier, tier)[:24], [v / scale for v in values])
    return drawn


def _month_label(month: str) -> str:
    """``2026-11`` as ``Nov 26``."""
    return datetime.strptime(month, "%Y-%m").strftime("%b %y")
