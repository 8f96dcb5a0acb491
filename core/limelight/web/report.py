"""The dashboard's stream report (``/admin/report``): charts drawn on the server.

The charts come from :mod:`.charts` (pygal SVG in the dashboard's theme) and sit in the
page as ``data:`` images, so the page needs no charting script at all. Each chart has its
numbers in a table beside it (screen readers, copying).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from aiohttp import web

from .. import report as reports
from ..money import Money, exponent, format_money
from ..text import plural
from .charts import chart, data_uri, whole_numbers
from .dashboard import render, require_session
from .keys import SERVICES, SETTINGS


def _labels(report: reports.Report) -> list[str]:
    if report.step >= timedelta(days=1):
        return [b.strftime("%d %b") for b in report.buckets]
    return [b.strftime("%H:%M") for b in report.buckets]


def _major(minor: int, currency: str) -> float:
    # Heights of bars only; every amount a person reads is formatted from exact Money.
    return float(Decimal(minor).scaleb(-exponent(currency)))


def charts(report: reports.Report, locale: str) -> list[dict[str, Any]]:
    """The report's charts: title, picture, and the numbers behind it."""
    labels = _labels(report)
    out: list[dict[str, Any]] = []

    money = chart("bar", labels, empty="No tips or cheers in this period")
    for currency, values in sorted(report.tips.items()):
        money.add(f"Tips ({currency})", [_major(v, currency) for v in values])
    money.add("Bits", report.bits, secondary=True)
    rows = [
        [label]
        + [format_money(Money(report.tips[c][i], c), locale) for c in sorted(report.tips)]
        + [f"{report.bits[i]:,}"]
        for i, label in enumerate(labels)
        if report.bits[i] or any(report.tips[c][i] for c in report.tips)
    ]
    out.append(
        {
            "id": "chart-money",
            "title": "Tips and cheers over time",
            "uri": data_uri(money),
            "columns": ["Time", *(f"Tips ({c})" for c in sorted(report.tips)), "Bits"],
            "rows": rows,
        }
    )

    members = chart("bar", labels, empty="No new members in this period")
    members.add("New subscriptions and memberships", report.members)
    whole_numbers(members, report.members)
    out.append(
        {
            "id": "chart-members",
            "title": "New members",
            "uri": data_uri(members),
            "columns": ["Time", "New members"],
            "rows": [[lbl, str(v)] for lbl, v in zip(labels, report.members, strict=True) if v],
        }
    )

    chat = chart("line", labels, fill=True, show_dots=False, empty="No chat in this period")
    chat.add("Chat messages", report.chat)
    whole_numbers(chat, report.chat)
    out.append(
        {
            "id": "chart-chat",
            "title": "Chat activity",
            "uri": data_uri(chat),
            "columns": ["Time", "Messages"],
            "rows": [[lbl, f"{v:,}"] for lbl, v in zip(labels, report.chat, strict=True) if v],
        }
    )

    currency = reports.main_currency(report.tips)
    top = chart(
        "horizontal_bar",
        show_legend=False,
        height=max(160, 44 * len(report.supporters) + 90),
        empty="No supporters in this period",
    )
    top.x_labels = [p.name for p in reversed(report.supporters)]
    top.x_labels_major = None
    top.add(
        "Supporters",
        [
            _major(max(p.money.get(currency, 0), 0), currency) if currency else p.bits
            for p in reversed(report.supporters)
        ],
    )
    out.append(
        {
            "id": "chart-supporters",
            "title": "Top supporters",
            "uri": data_uri(top),
            "columns": ["Supporter", "Tips (net of refunds)", "Bits"],
            "rows": [
                [
                    p.name,
                    ", ".join(format_money(Money(v, c), locale) for c, v in sorted(p.money.items()))
                    or "—",
                    f"{p.bits:,}",
                ]
                for p in report.supporters
            ],
            "empty": not report.supporters,
        }
    )
    return out


def summary(report: reports.Report, locale: str) -> list[dict[str, str]]:
    def amounts(values: list[Money]) -> str:
        return ", ".join(format_money(m, locale) for m in values) or "—"

    return [
        {
            "id": "income",
            "label": f"Tips received ({plural(report.tip_count, 'tip')})",
            "value": amounts(report.income()),
        },
        {
            "id": "refunds",
            "label": f"Refunded ({report.refund_count})",
            "value": amounts(report.refunded()),
        },
        {"id": "net", "label": "Net", "value": amounts(report.net())},
        {
            "id": "bits",
            "label": f"Cheers ({report.cheer_count})",
            "value": format_money(Money(sum(report.bits), "BITS"), locale),
        },
        {
            "id": "members",
            "label": "New members",
            "value": f"{report.member_count}"
            + (f" ({report.gifted} gifted)" if report.gifted else ""),
        },
        {
            "id": "chat",
            "label": "Chat messages",
            "value": f"{report.chat_count:,} from {plural(report.chatters, 'chatter')}",
        },
    ]


async def _choices(zone: tzinfo, now: datetime) -> dict[str, list[reports.Period]]:
    streams = await reports.streams(zone, now)
    days = [] if streams else await reports.active_days(zone, now - timedelta(days=62))
    local = now.astimezone(zone)
    months = []
    year, month = local.year, local.month
    for _ in range(12):
        months.append(reports.month_period(year, month, zone))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return {"streams": streams, "days": days[:31], "months": months}


async def page(request: web.Request) -> web.Response:
    require_session(request)
    settings = request.app[SETTINGS]
    # Chat lines are logged in batches (every 0.25 s): write what is waiting, so the
    # report counts every line up to now, as the activity feed and the events API do.
    await request.app[SERVICES].bus.flush()
    zone = reports.local_zone()
    now = datetime.now(UTC)
    choices = await _choices(zone, now)
    key = request.query.get("period", "")
    period = await reports.find_period(key, zone) if key else None
    if key and period is None:
        raise web.HTTPNotFound(text="no such period")
    if period is None:  # the latest stream, else the latest active day, else this month
        first = choices["streams"] or choices["days"] or choices["months"]
        period = first[0]
    report = await reports.build(period, zone)
    locale = settings.server.locale
    return render(
        request,
        "admin/report.html",
        {
            "period": period,
            "choices": choices,
            "summary": summary(report, locale),
            "charts": charts(report, locale),
            "zone": datetime.now(zone).strftime("%Z") or "server time",
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/report", page, name="admin-report")
