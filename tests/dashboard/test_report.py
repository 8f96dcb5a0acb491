"""The stream report: charts drawn on the server as SVG, totals from the event log, a
refund listed apart and never counted as income."""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime, timedelta

from limelight import Cheer, Money, Refund, StreamOffline, StreamOnline, Subscription
from limelight.testing import make_chat, make_tip, make_viewer
from limelight.web.security import DASHBOARD_CSP


def summary_of(page: str) -> dict[str, tuple[str, str]]:
    found = re.findall(r'<div id="report-([a-z]+)"><dt>(.*?)</dt><dd>(.*?)</dd></div>', page, re.S)
    return {key: (html.unescape(label), html.unescape(value)) for key, label, value in found}


def table_rows(page: str, chart: str) -> list[list[str]]:
    section = re.search(rf'<section class="card chart" id="{chart}">(.*?)</section>', page, re.S)
    assert section is not None, chart
    body = re.search(r"<tbody>(.*?)</tbody>", section.group(1), re.S)
    if body is None:
        return []
    return [
        [html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


async def seed(h) -> datetime:
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)

    def at(minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    ann, ben, cat, dan = (make_viewer(n) for n in ("ann", "ben", "cat", "dan"))
    await h.publish(StreamOnline(source="twitch", source_id="on-1", occurred_at=at(0), title="Art"))
    await h.publish(make_tip("10.00", "USD", ann, source_id="t1", occurred_at=at(10)))
    await h.publish(make_tip("5.00", "USD", ann, source_id="t2", occurred_at=at(20)))
    await h.publish(make_tip("7.50", "USD", ben, source_id="t3", occurred_at=at(30)))
    await h.publish(make_tip("3.00", "EUR", cat, source_id="t4", occurred_at=at(35)))
    await h.publish(
        Refund(
            source="test",
            source_id="r1",
            occurred_at=at(40),
            amount=Money(500, "USD"),
            original_source="test",
            original_id="t2",
        )
    )
    await h.publish(
        Cheer(source="twitch", source_id="c1", viewer=dan, bits=500, occurred_at=at(45))
    )
    await h.publish(Subscription(source="twitch", source_id="s1", viewer=ben, occurred_at=at(50)))
    for n, (who, text) in enumerate([(ann, "hi"), (ben, "hello"), (ann, "<b>gg</b>")]):
        await h.publish(make_chat(text, who, occurred_at=at(55 + n)))
    # Not in the stream: a test tip, and a tip after the stream ended.
    await h.publish(
        make_tip("100.00", "USD", ann, source_id="t-test", test=True, occurred_at=at(60))
    )
    await h.publish(StreamOffline(source="twitch", source_id="off-1", occurred_at=at(120)))
    await h.publish(make_tip("1.00", "USD", dan, source_id="t-after", occurred_at=at(150)))
    await h.settle()
    return start


async def test_the_stream_report_charts_and_totals_leave_refunds_out_of_income(
    limelight, database_url
) -> None:
    h = await limelight(database_url=database_url)
    await seed(h)
    response = await h.client.get("/admin/report", headers=h.admin_headers)
    assert response.status == 200
    assert response.headers["Content-Security-Policy"] == DASHBOARD_CSP
    page = await response.text()
    assert "Art" in page  # the latest stream is the default period
    summary = summary_of(page)
    assert summary["income"] == ("Tips received (4 tips)", "$22.50, €3.00")
    assert summary["refunds"] == ("Refunded (1)", "$5.00")
    assert summary["net"] == ("Net", "$17.50, €3.00")
    assert summary["bits"] == ("Cheers (1)", "500 bits")
    assert summary["members"] == ("New members", "1")
    assert summary["chat"] == ("Chat messages", "3 from 2 chatters")
    assert table_rows(page, "chart-supporters") == [
        ["ann", "$10.00", "0"],
        ["ben", "$7.50", "0"],
        ["dan", "—", "500"],
        ["cat", "€3.00", "0"],
    ]
    charts = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(charts) == 4
    for encoded in charts:
        svg = base64.b64decode(encoded).decode()
        assert "<svg" in svg and "<script" not in svg
    money_chart = base64.b64decode(charts[0]).decode()
    assert "Tips (USD)" in money_chart and "Bits" in money_chart
    assert "<b>gg</b>" not in page  # chat text is never on the report
    assert "<script" not in page.split("</header>", 1)[1].split("<footer>")[0]


async def test_the_month_report_and_days_without_streams(limelight) -> None:
    h = await limelight()
    start = await seed(h)
    month = f"month-{start.astimezone():%Y-%m}"
    page = await (
        await h.client.get("/admin/report", params={"period": month}, headers=h.admin_headers)
    ).text()
    summary = summary_of(page)
    after = start + timedelta(minutes=150)
    if after.astimezone().month == start.astimezone().month:  # the tip after the stream too
        assert summary["income"] == ("Tips received (5 tips)", "$23.50, €3.00")
        assert summary["net"] == ("Net", "$18.50, €3.00")
    assert summary["refunds"] == ("Refunded (1)", "$5.00")

    day = f"day-{start.astimezone():%Y-%m-%d}"
    response = await h.client.get("/admin/report", params={"period": day}, headers=h.admin_headers)
    assert response.status == 200
    for bad in ("stream-999999", "month-2026-13", "day-20xx", "nonsense"):
        response = await h.client.get(
            "/admin/report", params={"period": bad}, headers=h.admin_headers
        )
        assert response.status == 404, bad


async def test_an_empty_report_renders_without_charts_of_nothing(limelight) -> None:
    h = await limelight()
    response = await h.client.get("/admin/report", headers=h.admin_headers)
    assert response.status == 200
    page = await response.text()
    assert summary_of(page)["income"] == ("Tips received (0 tips)", "—")
    assert "No tips or cheers in this period." in page
