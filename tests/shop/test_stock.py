"""The stock engine's promise: N concurrent claims on K units give exactly min(N, K)
reservations, on SQLite and PostgreSQL, and per-viewer limits hold under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from limelight_shop import stock
from limelight_shop.models import Allowance, DropItem, Reservation

from .conftest import viewer


async def test_concurrent_claims_in_sql_never_oversell(shop, database_url) -> None:
    """200 claims at once straight through the SQL (no in-process lock) on 20 units."""
    s = await shop(database_url=database_url)
    product = await s.product()
    drop = await s.drop([(product, "", 20)])
    item = await DropItem.get(drop_id=drop.id)
    until = datetime.now(UTC) + timedelta(minutes=10)

    async def one(n: int) -> str:
        try:
            await stock.reserve(item.id, drop.id, viewer(f"v{n}"), limit=1, expires_at=until)
        except stock.ClaimRefused as exc:
            return exc.reason
        return "ok"

    results = await asyncio.gather(*(one(n) for n in range(200)))
    assert results.count("ok") == 20
    assert results.count("sold_out") == 180
    assert await Reservation.filter(drop_id=drop.id).count() == 20
    await item.refresh_from_db()
    assert item.remaining == 0


async def test_concurrent_claims_through_the_plugin_never_oversell(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    product = await s.product(variants=["S", "M"])
    drop = await s.drop([(product, "S", 7), (product, "M", 5)])
    results = await asyncio.gather(
        *(
            s.plugin.drops.claim(viewer(f"v{n}"), "hoodie", "S" if n % 2 else "m")
            for n in range(120)
        )
    )
    got = [r for r in results if r.reservation is not None]
    assert len(got) == 12
    assert {r.refused for r in results if r.reservation is None} == {"sold out"}
    assert await s.left(drop) == 0
    assert await Reservation.filter(drop_id=drop.id, status="held").count() == 12


async def test_per_viewer_limit_holds_under_concurrency(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    product = await s.product()
    drop = await s.drop([(product, "", 50)], limit=2)
    item = await DropItem.get(drop_id=drop.id)
    until = datetime.now(UTC) + timedelta(minutes=10)
    greedy = viewer("greedy")

    async def one() -> str:
        try:
            await stock.reserve(item.id, drop.id, greedy, limit=2, expires_at=until)
        except stock.ClaimRefused as exc:
            return exc.reason
        return "ok"

    results = await asyncio.gather(*(one() for _ in range(40)))
    assert results.count("ok") == 2
    assert results.count("limit") == 38
    await item.refresh_from_db()
    assert item.remaining == 48  # the refused claims took nothing
    allowance = await Allowance.get(drop_id=drop.id, viewer_key="twitch:greedy-id")
    assert allowance.held == 2


async def test_expiry_returns_the_unit(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    product = await s.product()
    drop = await s.drop([(product, "", 1)])
    first = await s.plugin.drops.claim(viewer("alice"), "hoodie")
    assert first.reservation is not None
    sold = await s.plugin.drops.claim(viewer("bob"), "hoodie")
    assert sold.refused == "sold out"
    # the clock moves past the reservation: run its expiry job now
    await Reservation.filter(id=first.reservation.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await s.plugin.drops.expire(first.reservation.id)
    assert (await Reservation.get(id=first.reservation.id)).status == "expired"
    assert await s.left(drop) == 1
    again = await s.plugin.drops.claim(viewer("bob"), "hoodie")
    assert again.reservation is not None
    # alice's allowance came back too: she may claim again once stock returns
    assert (await Allowance.get(drop_id=drop.id, viewer_key="twitch:alice-id")).held == 0


async def test_an_expiry_job_that_runs_early_or_twice_changes_nothing(shop) -> None:
    s = await shop()
    product = await s.product()
    drop = await s.drop([(product, "", 3)])
    got = await s.plugin.drops.claim(viewer("alice"), "hoodie")
    assert got.reservation is not None
    await s.plugin.drops.expire(got.reservation.id)  # not due yet
    assert (await Reservation.get(id=got.reservation.id)).status == "held"
    await Reservation.filter(id=got.reservation.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await asyncio.gather(*(s.plugin.drops.expire(got.reservation.id) for _ in range(5)))
    assert await s.left(drop) == 3
