"""Campaign donations from every source, totals per currency and conversion, refunds,
the donor badge, chat commands, the dashboard API, the report and the CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from limelight import Donation, Money, Refund, ViewerRef
from limelight.db import in_transaction
from limelight.testing import make_tip, make_viewer
from limelight_charity import ledger
from limelight_charity.models import Campaign, CampaignTotal, CharityEntry
from limelight_charity.reactions import BADGE, left_text

from tests.support import wait_until

from .conftest import campaign
from .doubles import donation_updated, tiltify_request


def twitch_donation(
    amount: str, currency: str = "EUR", name: str = "alice", **kw: object
) -> Donation:
    return Donation(
        source="twitch",
        source_id=f"charity:{uuid.uuid4()}",
        viewer=make_viewer(name),
        amount=Money.parse(amount, currency),
        campaign="twitch-campaign-id",
        **kw,  # type: ignore[arg-type]
    )


def tiltify_refund(donation_id: str, minor: int) -> Refund:
    """A provider's refund (a chargeback) of a Tiltify donation, in EUR minor units."""
    return Refund(
        source="tiltify",
        source_id=f"refund-{donation_id}",
        amount=Money(minor, "EUR"),
        original_source="tiltify",
        original_id=donation_id,
    )


async def state(c, overlay: str = "charity") -> dict:
    return c.h.services.overlays.channel(overlay).state


async def test_twitch_charity_donation_counts_and_awards_the_badge(charity) -> None:
    c = await charity()
    await c.h.publish(twitch_donation("12.50", name="alice"))
    rows = await c.rows()
    assert [(r.channel, r.counted_minor) for r in rows] == [("twitch", 1250)]
    badges = c.h.services.badges.for_viewer(make_viewer("alice"))
    assert [b.name for b in badges] == [BADGE]
    assert badges[0].label == "I donated"
    overlay = (await state(c))["pandas-2026"]
    assert overlay["current"] == 1250 and overlay["target"] == 100000
    assert overlay["recent"][0]["name"] == "alice"
    assert overlay["converted"] is False
    assert [m["at"] for m in overlay["milestones"]] == [10000, 50000]
    assert any("Thank you alice" in s.text for s in c.h.said)


async def test_totals_per_currency_and_conversion(charity) -> None:
    c = await charity()
    await c.h.publish(twitch_donation("10.00", "EUR", name="eve"))
    await c.post(*tiltify_request(donation_updated("20.00", "USD", donor_name="Bob")))
    await c.post(*tiltify_request(donation_updated("5.00", "GBP", donor_name="Gus")))  # no rate
    status, data = await c.api("GET", "/api/charity/campaigns")
    assert status == 200
    summary = data["campaigns"][0]
    # 10.00 EUR + 20.00 USD at 0.90 = 28.00 EUR; the GBP has no rate and stays out
    assert summary["total"] == "28.00"
    assert summary["converted"] is True and summary["missing_rates"] is True
    given = {t["currency"]: t["amount"] for t in summary["per_currency"]}
    assert given == {"EUR": "10.00", "GBP": "5.00", "USD": "20.00"}
    overlay = (await state(c))["pandas-2026"]
    assert overlay["converted"] is True and overlay["current"] == 2800


async def test_tips_count_only_when_asked_and_only_in_the_window(charity) -> None:
    off = await charity()
    await off.h.publish(make_tip("5.00", "EUR", "carol"))
    assert await off.rows() == []


async def test_tips_during_the_campaign_count_with_count_tips(charity) -> None:
    c = await charity({"plugins": {"charity": {"count_tips": True}}})
    await c.h.publish(make_tip("5.00", "EUR", "carol"))
    before = datetime.now(UTC) - timedelta(days=3)
    await c.h.publish(make_tip("7.00", "EUR", "dave", occurred_at=before))  # before the start
    await c.h.publish(make_tip("9.00", "EUR", "erin", kind="shop_order"))  # a purchase
    rows = await c.rows()
    assert [(r.kind, r.channel, r.viewer_name, r.counted_minor) for r in rows] == [
        ("tip", "tips", "carol", 500)
    ]


async def test_no_campaign_running_counts_nothing(charity) -> None:
    now = datetime.now(UTC)
    c = await charity(
        campaigns=[
            campaign(
                starts_at=(now + timedelta(days=1)).isoformat(),
                ends_at=(now + timedelta(days=2)).isoformat(),
                tiltify_campaign_id="",
            )
        ]
    )
    await c.h.publish(twitch_donation("3.00"))
    assert await c.rows() == []
    assert "pandas-2026" in await state(c)  # it starts tomorrow: shown as upcoming
    assert (await state(c))["pandas-2026"]["running"] is False


async def test_refunds_reduce_the_total_and_take_the_badge_back(charity) -> None:
    c = await charity()
    await c.post(*tiltify_request(donation_updated("10.00", "EUR", donation_id="d-1")))
    await c.h.publish(twitch_donation("20.00", name="alice"))
    alice_row = await CharityEntry.filter(channel="twitch").first()
    assert alice_row is not None
    # a partial refund by hand, then the rest
    status, _ = await c.api(
        "POST", f"/api/charity/entries/{alice_row.id}/refund", json={"amount": "5.00"}
    )
    assert status == 201
    status, data = await c.api(
        "POST", f"/api/charity/entries/{alice_row.id}/refund", json={"amount": "50.00"}
    )
    assert status == 400 and "left" in data["error"]
    status, _ = await c.api("POST", f"/api/charity/entries/{alice_row.id}/refund", json={})
    assert status == 201
    rows = await c.rows()
    assert [r.amount_minor for r in rows] == [1000, 2000, -500, -1500]
    assert sum(r.counted_minor for r in rows) == 1000
    assert c.h.services.badges.for_viewer(make_viewer("alice")) == []
    # a core refund of the Tiltify donation (a provider's chargeback) reverses it too
    await c.h.publish(tiltify_refund("d-1", 1000))
    assert sum(r.counted_minor for r in await c.rows()) == 0
    assert (await state(c))["pandas-2026"]["current"] == 0


async def test_manual_donation_from_the_dashboard(charity) -> None:
    c = await charity()
    body = {"name": "Grandma", "amount": "50.00", "message": "cheque", "key": "form-0001"}
    status, data = await c.api("POST", "/api/charity/campaigns/pandas-2026/donations", json=body)
    assert status == 201 and data["entry"]
    status, data = await c.api("POST", "/api/charity/campaigns/pandas-2026/donations", json=body)
    assert status == 200 and data["duplicate"] is True  # a double-clicked form counts once
    status, data = await c.api(
        "POST",
        "/api/charity/campaigns/pandas-2026/donations",
        json={"amount": "500", "currency": "JPY"},
    )
    assert status == 400 and "no rate" in data["error"]
    rows = await c.rows()
    assert [(r.channel, r.viewer_name, r.counted_minor) for r in rows] == [
        ("manual", "Grandma", 5000)
    ]


async def test_commands(charity) -> None:
    c = await charity()
    await c.h.publish(twitch_donation("250.00"))
    await c.h.chat_as("bob", "!donate")
    await c.h.chat_as("bob", "!goal")
    said = [s.text for s in c.h.said]
    assert "Donate to WWF for Pandas need bamboo: https://www.worldwildlife.org/donate" in said
    assert any(
        s.startswith("Pandas need bamboo: €250.00 of €1,000.00 raised (25%) for WWF") for s in said
    )


async def test_commands_without_a_campaign(charity) -> None:
    c = await charity(campaigns=[])
    await c.h.chat_as("bob", "!goal")
    assert c.h.said[-1].text == "No charity campaign is running."


async def test_dashboard_creates_and_edits_campaigns(charity) -> None:
    c = await charity()
    now = datetime.now(UTC)
    new = campaign(
        id="food-bank",
        title="Winter food bank",
        currency="USD",
        goal="500",
        tiltify_campaign_id="",
        rates={},
        starts_at=(now - timedelta(minutes=5)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    status, data = await c.api("POST", "/api/charity/campaigns", json=new)
    assert status == 201, data
    assert data["campaign"]["goal"] == "500.00"
    status, data = await c.api("POST", "/api/charity/campaigns", json={**new, "goal": "600.00"})
    assert status == 200 and data["campaign"]["goal"] == "600.00"
    status, data = await c.api("POST", "/api/charity/campaigns", json=campaign(goal="1.00"))
    assert status == 409  # the config's campaign is changed in the config
    status, data = await c.api(
        "POST", "/api/charity/campaigns", json={**new, "ends_at": new["starts_at"]}
    )
    assert status == 400 and "ends_at" in data["error"]
    status, data = await c.api("POST", "/api/charity/campaigns", json={**new, "id": "Bad Id"})
    assert status == 400
    # the newest running campaign now takes new donations
    await c.h.publish(twitch_donation("10.00", "USD"))
    row = await CharityEntry.all().prefetch_related("campaign").first()
    assert row is not None and row.campaign.slug == "food-bank"


async def test_csv_export_and_report(charity) -> None:
    c = await charity()
    await c.post(
        *tiltify_request(
            donation_updated("20.00", "USD", donor_name="=HYPERLINK(1)", comment="+1 great")
        )
    )
    await c.h.publish(twitch_donation("10.00", name="alice", anonymous=False))
    alice = await CharityEntry.get(channel="twitch")
    await c.api("POST", f"/api/charity/entries/{alice.id}/refund", json={"amount": "4.00"})
    status, text = await c.api("GET", "/api/charity/campaigns/pandas-2026/export.csv")
    assert status == 200
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["kind"], r["channel"], r["amount"], r["currency"], r["counted"]) for r in table] == [
        ("donation", "tiltify", "20.00", "USD", "18.00"),
        ("donation", "twitch", "10.00", "EUR", "10.00"),
        ("refund", "twitch", "-4.00", "EUR", "-4.00"),
    ]
    assert table[0]["rate"] == "0.90" and table[0]["campaign_currency"] == "EUR"
    assert table[0]["donor"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert table[0]["message"] == "'+1 great"
    assert table[2]["refund_of"] == str(alice.id)
    response = await c.h.client.get("/p/charity/pandas-2026/report", headers=c.h.admin_headers)
    assert response.status == 200
    page = await response.text()
    assert "€24.00" in page  # 18.00 + 10.00 - 4.00
    assert "=HYPERLINK(1)" in page
    import base64
    import re

    uri = re.search(r'id="report-chart"[^>]* src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert uri is not None
    svg = base64.b64decode(uri.group(1)).decode()
    # no script; the raised line and the goal, the axis in the campaign's money
    assert "<script" not in svg and ">Raised<" in svg and ">Goal<" in svg and "€" in svg
    assert "<script>" not in page.split("<main>")[1]


async def test_anonymous_donor_is_hidden_on_overlays(charity) -> None:
    c = await charity()
    await c.h.publish(twitch_donation("10.00", name="secretive", anonymous=True))
    await c.post(*tiltify_request(donation_updated("5.00", "EUR", donor_name="Anonymous")))
    overlay = (await state(c))["pandas-2026"]
    assert [d["name"] for d in overlay["recent"]] == ["Anonymous", "Anonymous"]
    wall = (await state(c, "charity-wall"))["pandas-2026"]
    assert [d["name"] for d in wall["donors"]] == ["Anonymous", "Anonymous"]
    assert c.h.services.badges.for_viewer(make_viewer("secretive")) == []


async def test_a_viewer_ref_is_a_donor_across_donations(charity) -> None:
    c = await charity()
    alice = ViewerRef("twitch", "42", "alice")
    for amount in ("1.00", "2.00"):
        await c.h.publish(
            Donation(
                source="twitch",
                source_id=f"charity:{uuid.uuid4()}",
                viewer=alice,
                amount=Money.parse(amount, "EUR"),
            )
        )
    wall = (await state(c, "charity-wall"))["pandas-2026"]
    assert wall["donors"] == [{"name": "alice", "amount": "€3.00"}]


def _donors_from_models(entries: list[CharityEntry]) -> list[tuple[object, ...]]:
    """The donor list as the ledger first computed it, from model objects in id order: the
    reference the plain-row reading must equal."""
    from limelight_charity.ledger import donor_key

    sums: dict[tuple[str, str], list[object]] = {}
    for e in sorted(entries, key=lambda e: e.id):
        key = donor_key(e)
        slot = sums.get(key)
        if slot is None:
            sums[key] = [e.viewer_name, e.anonymous, e.counted_minor, e.occurred_at]
        else:
            slot[2] += e.counted_minor  # type: ignore[operator]
            if e.kind != "refund":
                slot[0] = e.viewer_name or slot[0]
                slot[1] = slot[1] and e.anonymous
                slot[3] = max(slot[3], e.occurred_at)  # type: ignore[type-var]
    out = [
        (k[0], k[1] if k[0] else "", v[0], v[1], v[2], v[3])
        for k, v in sums.items()
        if v[2] > 0  # type: ignore[operator]
    ]
    return sorted(out, key=lambda d: (-d[4], d[5]))  # type: ignore[operator]


async def test_the_donor_list_adds_up_every_entry(database_url: str, charity, monkeypatch) -> None:
    """Donors from chat, from Tiltify without an account and by hand, some anonymous, with
    partial and full refunds: each donor's net, name, anonymity and last donation, read on
    the writing connection and on the reader alike."""
    from limelight_charity import ledger

    c = await charity(database_url=database_url)
    await c.h.publish(twitch_donation("20.00", name="alice"))
    await c.h.publish(twitch_donation("10.00", name="alice", anonymous=True))
    await c.h.publish(twitch_donation("30.00", name="bob", anonymous=True))
    await c.h.publish(twitch_donation("15.00", name="carol"))
    await c.post(*tiltify_request(donation_updated("12.00", "USD", donor_name="Dora")))
    await c.post(*tiltify_request(donation_updated("5.00", "EUR", donor_name="Ed")))
    await c.api(
        "POST",
        "/api/charity/campaigns/pandas-2026/donations",
        json={"name": "Grandma", "amount": "50.00", "key": "form-0002"},
    )
    rows = {r.viewer_name: r for r in await c.rows()}
    for name, amount in (("carol", "15.00"), ("Ed", "2.00"), ("Grandma", "10.00")):
        status, _ = await c.api(
            "POST", f"/api/charity/entries/{rows[name].id}/refund", json={"amount": amount}
        )
        assert status == 201
    campaign_id = rows["alice"].campaign_id  # type: ignore[attr-defined]
    entries = await CharityEntry.filter(campaign_id=campaign_id)
    expected = _donors_from_models(entries)
    assert [d[2] for d in expected] == ["Grandma", "alice", "bob", "Dora", "Ed"]
    for using in (None, c.h.services.db.reader):
        found = await ledger.donors(campaign_id, using)
        assert [
            (d.platform, d.id, d.name, d.anonymous, d.counted_minor, d.last_at) for d in found
        ] == expected
        assert ledger.donors_of(reversed(entries)) == found  # the report's: from its entries
        # The donor wall's top, summed by the database first (alice and bob tie at 30.00)
        for size in range(7):
            assert await ledger.top_donors(campaign_id, size, using) == found[:size], size
    monkeypatch.setattr(ledger, "TOP_CANDIDATES", 1)  # too many ties: everything is read
    assert await ledger.top_donors(campaign_id, 2) == found[:2]


async def test_a_campaigns_total_reads_only_its_own_entries(charity) -> None:
    """A campaign's sum (its total until it has a running total): from the (campaign, id,
    amount) index alone, never a scan of every campaign's entries (SQLite's own plan)."""
    c = await charity()
    await c.h.publish(twitch_donation("12.50", name="alice"))
    conn = CharityEntry._meta.db
    table = CharityEntry._meta.db_table
    plan = await conn.execute_query_dict(
        f"EXPLAIN QUERY PLAN SELECT SUM(counted_minor) FROM {table} WHERE campaign_id = 1"
    )
    assert any("COVERING INDEX" in str(row["detail"]) for row in plan), plan
    ordered = await conn.execute_query_dict(
        f"EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE campaign_id = 1 ORDER BY id"
    )
    assert not any("TEMP B-TREE" in str(row["detail"]) for row in ordered), ordered


async def _totals() -> dict[int, tuple[int, int]]:
    """Each campaign's running total beside the sum of its entries."""
    return {
        row.campaign_id: (row.total_minor, await ledger.summed(row.campaign_id))
        for row in await CampaignTotal.all()
    }


async def test_the_running_total_is_the_sum_of_the_entries(database_url: str, charity) -> None:
    """Donations one at a time and in one batch, converted ones, refunds by hand and from
    a provider: the campaign's running total always equals the sum of its entries."""
    c = await charity(database_url=database_url)
    await c.h.publish(twitch_donation("12.50", name="alice"))
    [(cid, (kept, summed))] = (await _totals()).items()
    assert kept == summed == 1250
    await asyncio.gather(  # one group-commit batch: one statement adds them all
        *(c.h.publish(twitch_donation(f"{i}.00", "USD", name=f"d{i}")) for i in range(1, 6))
    )
    assert await _totals() == {cid: (1250 + 1350, 1250 + 1350)}  # 15 USD at 0.90
    alice = await CharityEntry.filter(viewer_name="alice").first()
    assert alice is not None
    status, _ = await c.api(
        "POST", f"/api/charity/entries/{alice.id}/refund", json={"amount": "2.50"}
    )
    assert status == 201
    await c.post(*tiltify_request(donation_updated("10.00", "EUR", donation_id="d-1")))
    await c.h.publish(tiltify_refund("d-1", 400))
    assert await _totals() == {cid: (2950, 2950)}  # 26.00 + 10.00 - 2.50 - 4.00
    assert await ledger.total(cid) == 2950
    assert (await state(c))["pandas-2026"]["current"] == 2950


async def test_a_failed_part_does_not_count_twice(database_url: str, charity, monkeypatch) -> None:
    """The plugin's part of a batch fails after its total was added (a milestone's claim
    raising): it rolls back with its entries, is written again event by event, and every
    donation is counted once."""
    c = await charity(database_url=database_url)
    ladder = type(c.plugin.campaigns.ladder(c.plugin.campaigns.rows["pandas-2026"]))
    due = ladder.due
    calls = 0

    async def due_once_failing(self, total, tx):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the milestone store is away")
        return await due(self, total, tx)

    monkeypatch.setattr(ladder, "due", due_once_failing)
    await asyncio.gather(*(c.h.publish(twitch_donation("3.00", name=f"d{i}")) for i in range(4)))
    await c.h.settle()
    assert calls > 1
    assert len(await c.rows()) == 4
    assert list((await _totals()).values()) == [(1200, 1200)]


async def test_a_campaign_counted_before_its_running_total_starts_from_its_entries(
    database_url: str, charity
) -> None:
    """A database from before the running total (the table is there, empty): the total is
    the sum of the entries, and the next donation's row starts from that sum."""
    c = await charity(database_url=database_url)
    for amount in ("4.00", "6.00"):
        await c.h.publish(twitch_donation(amount))
    [cid] = await _totals()
    await CampaignTotal.all().delete()
    assert await ledger.total(cid) == 1000
    await c.h.publish(twitch_donation("1.00"))
    assert await _totals() == {cid: (1100, 1100)}


async def test_two_transactions_making_a_total_at_once_both_count(charity, pg_database) -> None:
    """PostgreSQL runs transactions side by side (a part written again runs in its own):
    two find no row for the campaign and both make it. The second waits for the first,
    finds its row and adds to it; before, it failed on the key and its donation went to
    the quarantine."""
    c = await charity(database_url=await pg_database())
    await c.h.publish(twitch_donation("1.00"))
    [cid] = await _totals()
    await CampaignTotal.all().delete()  # no row yet, as before the running total
    made, release = asyncio.Event(), asyncio.Event()

    async def first() -> int:
        async with in_transaction() as conn:
            total = await ledger.add_to_total(conn, cid, 0)  # the sum of the entries: 100
            made.set()
            await release.wait()
            return total

    async def second() -> int:
        async with in_transaction() as conn:
            return await ledger.add_to_total(conn, cid, 300)

    one = asyncio.create_task(first())
    await made.wait()
    two = asyncio.create_task(second())

    async def second_waits_on_the_first() -> bool:
        rows = await CampaignTotal._meta.db.execute_query_dict(
            "SELECT count(*) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return rows[0]["n"] == 1

    await wait_until(second_waits_on_the_first)
    release.set()
    assert (await one, await two) == (100, 400)
    assert (await CampaignTotal.get(campaign_id=cid)).total_minor == 400


async def test_the_export_pages_through_entries_in_time_order(
    database_url: str, charity, monkeypatch
) -> None:
    """The CSV export reads the campaign a page at a time, in the order the donations
    happened (a late Tiltify delivery lands among its own time, not at the end). Pages of
    2 here, with a time shared by three entries across a page boundary: every entry
    appears once, in (time, id) order."""
    from limelight.web import export

    monkeypatch.setattr(export, "EXPORT_PAGE", 2)
    c = await charity(database_url=database_url)
    for i in range(7):
        await c.h.publish(twitch_donation(f"{i + 1}.00", name=f"donor{i}"))
    rows = await c.rows()
    base = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
    minutes = [5, 1, 3, 3, 3, 0, 9]  # ids 2..4 share a time that straddles pages 2 and 3
    for row, minute in zip(rows, minutes, strict=True):
        await CharityEntry.filter(id=row.id).update(occurred_at=base + timedelta(minutes=minute))
    status, text = await c.api("GET", "/api/charity/campaigns/pandas-2026/export.csv")
    assert status == 200
    table = list(csv.DictReader(io.StringIO(text)))
    expected = sorted(zip(minutes, [r.id for r in rows], strict=True))
    assert [int(r["id"]) for r in table] == [i for _, i in expected]
    assert [datetime.fromisoformat(r["occurred_at"]) for r in table] == [
        base + timedelta(minutes=m) for m, _ in expected
    ]
    # The same instant stored as other text (fewer digits, as an import may write it):
    # still every entry once.
    if database_url.startswith("sqlite"):
        table = CharityEntry._meta.db_table
        await CharityEntry._meta.db.execute_query(
            f"UPDATE {table} SET occurred_at = ? WHERE id = ?",
            ["2026-11-01 20:03:00.000+00:00", rows[3].id],
        )
        status, text = await c.api("GET", "/api/charity/campaigns/pandas-2026/export.csv")
        ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(text))]
        assert sorted(ids) == sorted(r.id for r in rows)


def test_the_time_left_reads_in_its_two_largest_units() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    campaign = Campaign(starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=3, hours=4))
    assert left_text(campaign, now) == "3 days 4 h left"
    assert left_text(campaign, now + timedelta(days=3, hours=2, minutes=5)) == "1 h 55 min left"
    assert left_text(campaign, now - timedelta(days=2, hours=1)) == "starts in 1 day 1 h"
    assert left_text(campaign, now + timedelta(days=4)) == "ended"
