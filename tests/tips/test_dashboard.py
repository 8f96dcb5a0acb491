"""The tips dashboard: filters and totals, refunds by hand, CSV export, the page itself."""

from __future__ import annotations

import asyncio
import csv
import io

import aiohttp
import pytest
from limelight import Cheer
from limelight.testing import make_tip, make_viewer
from limelight.web import export

from ..support import interrupt, start_long_read
from .doubles import generic_request, generic_tip


async def test_entries_filter_and_totals(tips) -> None:
    t = await tips()
    await t.h.publish(make_tip("5.00", "USD", viewer="ann", source="kofi"))
    await t.h.publish(make_tip("7.50", "EUR", viewer="ben", source="stripe"))
    await t.h.publish(make_tip("2.00", "USD", viewer="annabel", source="kofi"))
    await t.h.publish(Cheer(source="twitch", source_id="c1", viewer=make_viewer("cat"), bits=100))
    response = await t.h.client.get(
        "/api/tips/entries", params={"q": "ann"}, headers=t.h.admin_headers
    )
    body = await response.json()
    assert sorted(e["viewer"]["name"] for e in body["entries"]) == ["ann", "annabel"]
    assert body["totals"] == [
        {
            "currency": "USD",
            "amount": "7.00",
            "display": "$7.00",
            "minor": 700,
            "entries": 2,
            "refunds": 0,
        }
    ]
    body = await (
        await t.h.client.get(
            "/api/tips/entries", params={"kind": "cheer"}, headers=t.h.admin_headers
        )
    ).json()
    assert [e["display"] for e in body["entries"]] == ["100 bits"]
    body = await (
        await t.h.client.get(
            "/api/tips/entries", params={"provider": "stripe"}, headers=t.h.admin_headers
        )
    ).json()
    assert [e["amount"] for e in body["entries"]] == ["7.50"]
    bad = await t.h.client.get(
        "/api/tips/entries", params={"since": "yesterday"}, headers=t.h.admin_headers
    )
    assert bad.status == 400
    assert (await bad.json())["error"] == "since must be a date or ISO 8601 timestamp"


async def test_refund_by_hand_reverses_once_and_reaches_other_plugins(tips) -> None:
    t = await tips()
    await t.post("generic", *generic_request(generic_tip("10.00", "USD", id="g1")))
    [entry] = await t.entries()
    url = f"/api/tips/entries/{entry['id']}/refund"
    first = await t.h.client.post(url, json={"amount": "4.00"}, headers=t.h.admin_headers)
    assert first.status == 201, await first.text()
    refund = (await first.json())["refund"]
    assert (refund["amount"], refund["original_id"]) == ("-4.00", entry["id"])
    too_much = await t.h.client.post(url, json={"amount": "7.00"}, headers=t.h.admin_headers)
    assert too_much.status == 400
    assert "at most $6.00" in (await too_much.json())["error"]
    rest = await t.h.client.post(url, json={}, headers=t.h.admin_headers)
    assert rest.status == 201
    done = await t.h.client.post(url, json={}, headers=t.h.admin_headers)
    assert done.status == 400
    assert "already fully refunded" in (await done.json())["error"]
    await t.h.settle()
    amounts = sorted(e["amount"] for e in await t.entries())
    assert amounts == ["-4.00", "-6.00", "10.00"]
    refunds = [e for e in await t.events() if e["type"] == "refund"]
    assert len(refunds) == 2  # on the bus, for plugins that granted something for the tip
    assert all(r["data"]["original_id"] == "g1" for r in refunds)


async def test_refund_by_hand_whose_row_failed_once_is_written_by_the_core(
    tips, monkeypatch
) -> None:
    # The refund row is written only by record_events; when that fails, the core writes
    # it again before publish returns, and the dashboard reads it back.
    t = await tips()
    await t.post("generic", *generic_request(generic_tip("10.00", "USD", id="g3")))
    [entry] = await t.entries()
    refunds = t.plugin.refunds
    original = refunds.apply
    calls: list[str] = []

    async def fails_once(event, tx, batch):  # type: ignore[no-untyped-def]
        calls.append(event.source_id)
        if len(calls) == 1:
            raise RuntimeError("the refund row could not be written")
        return await original(event, tx, batch)

    monkeypatch.setattr(refunds, "apply", fails_once)
    response = await t.h.client.post(
        f"/api/tips/entries/{entry['id']}/refund", json={}, headers=t.h.admin_headers
    )
    assert response.status == 201, await response.text()
    assert (await response.json())["refund"]["amount"] == "-10.00"
    assert len(calls) == 2
    await t.h.settle()
    assert sorted(e["amount"] for e in await t.entries()) == ["-10.00", "10.00"]


async def test_refund_of_a_refund_is_refused(tips) -> None:
    t = await tips()
    await t.post("generic", *generic_request(generic_tip("3.00", "USD", id="g2")))
    await t.post(
        "generic",
        *generic_request(
            {"id": "r2", "type": "refund", "refund_of": "g2", "amount": "3.00", "currency": "USD"}
        ),
    )
    refund = next(e for e in await t.entries() if e["kind"] == "refund")
    response = await t.h.client.post(
        f"/api/tips/entries/{refund['id']}/refund", json={}, headers=t.h.admin_headers
    )
    assert response.status == 400


async def test_csv_export_is_complete_and_spreadsheet_safe(tips) -> None:
    t = await tips()
    await t.h.publish(
        make_tip("5.00", "USD", viewer='=HYPERLINK("x")', message='+1 great, "quoted"\nnew line')
    )
    await t.h.publish(make_tip("1.00", "EUR", viewer="bo"))
    response = await t.h.client.get(
        "/api/tips/export.csv", params={"currency": "USD"}, headers=t.h.admin_headers
    )
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 1
    assert rows[0]["viewer_name"] == '\'=HYPERLINK("x")'
    assert rows[0]["message"] == '\'+1 great, "quoted"\nnew line'
    assert (rows[0]["amount"], rows[0]["currency"]) == ("5.00", "USD")


async def test_admin_routes_need_the_admin_token(tips) -> None:
    t = await tips()
    for path in ("/api/tips/entries", "/api/tips/export.csv", "/api/tips/queue", "/p/tips/"):
        response = await t.h.client.get(path)
        assert response.status == 401, path


async def test_dashboard_page_renders_with_a_strict_csp(tips) -> None:
    t = await tips()
    response = await t.h.client.get("/p/tips/", headers=t.h.admin_headers)
    assert response.status == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    page = await response.text()
    assert "/-/static-plugins/tips/tips.js" in page
    assert "<script>" not in page
    js = await t.h.client.get("/-/static-plugins/tips/tips.js")
    assert js.status == 200
    assert ".innerHTML" not in await js.text()


async def test_leaderboard_api_and_stream_reset(tips) -> None:
    t = await tips()
    await t.h.publish(make_tip("5.00", viewer="ann"))
    board = await (
        await t.h.client.get(
            "/api/tips/leaderboard", params={"period": "all"}, headers=t.h.admin_headers
        )
    ).json()
    assert [e["name"] for e in board["entries"]] == ["ann"]
    reset = await t.h.client.post("/api/tips/stream/start", headers=t.h.admin_headers)
    assert reset.status == 200
    board = await (await t.h.client.get("/api/tips/leaderboard", headers=t.h.admin_headers)).json()
    assert board["entries"] == []
    assert t.plugin.boards.stream_started is not None


async def test_tips_page_is_in_the_dashboard_navigation(tips) -> None:
    t = await tips()
    response = await t.h.client.get("/admin/", headers=t.h.admin_headers)
    assert 'href="/p/tips/"' in await response.text()
    page = await (await t.h.client.get("/p/tips/", headers=t.h.admin_headers)).text()
    assert 'href="/admin/"' in page and 'aria-current="page"' in page


async def test_the_export_is_read_beside_the_commits(tips, monkeypatch) -> None:
    """A big ledger's export is read a page at a time (here pages of 2) on
    ``ctx.db.reader``: it goes through while the connection that commits tips is held by
    a read that never ends (read there, it would wait for ever)."""
    monkeypatch.setattr(export, "EXPORT_PAGE", 2)
    t = await tips()
    for i in range(5):
        await t.h.publish(make_tip(f"{i + 1}.00", "USD", viewer=f"viewer{i}"))
    writer = t.h.services.db.connection
    busy = await start_long_read(writer)
    try:
        async with asyncio.timeout(60):
            response = await t.h.client.get("/api/tips/export.csv", headers=t.h.admin_headers)
            assert response.status == 200
            text = await response.text()
        assert not busy.done()  # all of it while the writing connection was taken
    finally:
        interrupt(writer)
        with pytest.raises(Exception, match="interrupted"):
            await busy
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["viewer_name"] for r in rows] == [f"viewer{i}" for i in range(5)]
    assert [r["amount"] for r in rows] == ["1.00", "2.00", "3.00", "4.00", "5.00"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_export_is_sent_as_it_is_read(tips, monkeypatch) -> None:
    """The download starts with the first page, not once the whole ledger is read and
    held in memory: here the third page is held back, and the first two pages' rows have
    already reached the client."""
    import limelight_tips.web as tips_web

    monkeypatch.setattr(export, "EXPORT_PAGE", 2)
    t = await tips()
    for i in range(5):
        await t.h.publish(make_tip("1.00", "USD", viewer=f"viewer{i}"))
    third = asyncio.Event()

    async def held_back(*args, **kwargs):  # type: ignore[no-untyped-def]
        async for n, page in aenumerate(export.pages(*args, **kwargs)):
            if n == 2:
                await third.wait()
            yield page

    monkeypatch.setattr(tips_web, "pages", held_back)
    async with asyncio.timeout(60):
        response = await t.h.client.get("/api/tips/export.csv", headers=t.h.admin_headers)
        assert response.status == 200
        lines = [await response.content.readline() for _ in range(5)]  # header, 4 rows
        assert not third.is_set()
        assert b"viewer3" in lines[-1]
        third.set()
        rest = await response.read()
    assert rest.count(b"\r\n") == 1 and b"viewer4" in rest


async def aenumerate(pages):  # type: ignore[no-untyped-def]
    n = 0
    async for page in pages:
        yield n, page
        n += 1


async def test_an_export_that_fails_part_way_is_cut_off(tips, monkeypatch, caplog) -> None:
    """Once the download has started its status cannot change any more: an error on a
    later page cuts the transfer off without its last chunk, so the browser reports a
    failed download instead of saving a file that looks complete."""
    import limelight_tips.web as tips_web

    monkeypatch.setattr(export, "EXPORT_PAGE", 2)
    t = await tips()
    for i in range(5):
        await t.h.publish(make_tip("1.00", "USD", viewer=f"viewer{i}"))
    cells = tips_web._csv_cells

    def failing(entry):  # type: ignore[no-untyped-def]
        if entry.viewer_name == "viewer3":
            raise RuntimeError("the disk went away")
        return cells(entry)

    monkeypatch.setattr(tips_web, "_csv_cells", failing)
    response = await t.h.client.get("/api/tips/export.csv", headers=t.h.admin_headers)
    assert response.status == 200  # the first page went out
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    assert "the disk went away" in caplog.text  # the error is in the log
