"""Drop rush: 10,000 concurrent claims over HTTP on 100 units -> exactly 100 reservations.

Printed, never asserted (beyond the count, which is the promise). For SQLite and
PostgreSQL, 10,000 distinct viewers each POST a claim to the public drop page's endpoint
(``/p/shop/claim``, a signed per-viewer link, JSON) over real HTTP, all at once
(``CONNECTIONS`` sockets), against a drop of ``UNITS`` units. Reported: the wall time of
the whole rush, claims/s, p50/p99 of the answers, and the reservations made (must be
exactly ``UNITS``), beside a bare aiohttp handler doing the same per-request work (verify
the signed link, parse the JSON, answer) without a database, in the same run.
Goal: under 2 s on SQLite on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from limelight import ViewerRef
from limelight_alerts import AlertsPlugin
from limelight_shop import ShopPlugin
from limelight_shop.links import LinkError, ViewerLinks
from limelight_shop.models import Drop, DropItem, Product, Reservation

from ..support import free_port
from .report import record

CLAIMS = 10_000
UNITS = 100
CONNECTIONS = 200
SECRET = "bench-shop-link-secret"


def _bodies(links: ViewerLinks) -> list[bytes]:
    return [
        json.dumps(
            {"token": links.sign(ViewerRef("twitch", f"v{i}", f"viewer{i}")), "sku": "hoodie"}
        ).encode()
        for i in range(CLAIMS)
    ]


async def _rush(url: str, bodies: list[bytes]) -> tuple[float, list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes) -> None:
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        wall = time.perf_counter() - started
    return wall, latencies, statuses


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def _baseline() -> dict[str, Any]:
    links = ViewerLinks(SECRET, timedelta(hours=1))
    left = UNITS

    async def claim(request: web.Request) -> web.Response:
        nonlocal left
        body = json.loads(await request.read())
        try:
            links.verify(body["token"])
        except LinkError:
            return web.json_response({"ok": False}, status=401)
        if left > 0:
            left -= 1
            return web.json_response({"ok": True}, status=201)
        return web.json_response({"ok": False, "message": "sold out"}, status=409)

    app = web.Application()
    app.router.add_post("/p/shop/claim", claim)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        wall, latencies, statuses = await _rush(
            f"http://127.0.0.1:{port}/p/shop/claim", _bodies(links)
        )
    finally:
        await runner.cleanup()
    return {
        "wall": wall,
        "p50": _pct(latencies, 0.5),
        "p99": _pct(latencies, 0.99),
        "won": statuses.get(201, 0),
    }


async def _limelight(limelight: Any, database_url: str) -> dict[str, Any]:
    h = await limelight(
        plugins={"shop": ShopPlugin, "alerts": AlertsPlugin},
        database_url=database_url,
        config={"plugins": {"shop": {"link_secret": SECRET, "stock_lines_every": 0}}},
    )
    product = await Product.create(
        sku="hoodie", name="Logo hoodie", price_minor=4500, currency="EUR"
    )
    drop = await Drop.create(name="Rush", status="scheduled", per_viewer_limit=1)
    await DropItem.create(drop=drop, product=product, stock=UNITS, remaining=UNITS)
    plugin = h.plugin("shop", ShopPlugin)
    assert await plugin.drops.open(drop.id)
    bodies = _bodies(plugin.links)
    wall, latencies, statuses = await _rush(h.url("/p/shop/claim"), bodies)
    reservations = await Reservation.filter(drop_id=drop.id).count()
    left = (await DropItem.get(drop_id=drop.id)).remaining
    # the same rush without HTTP: the engine's own cost (a second drop, other viewers)
    await plugin.drops.end(drop.id)
    product2 = await Product.create(sku="tee", name="Tee", price_minor=2000, currency="EUR")
    drop2 = await Drop.create(name="Rush 2", status="scheduled", per_viewer_limit=1)
    await DropItem.create(drop=drop2, product=product2, stock=UNITS, remaining=UNITS)
    assert await plugin.drops.open(drop2.id)
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(plugin.drops.claim(ViewerRef("twitch", f"e{i}", f"e{i}"), "tee") for i in range(CLAIMS))
    )
    engine = time.perf_counter() - started
    engine_won = sum(1 for o in outcomes if o.reservation is not None)
    await h.client.close()
    return {
        "wall": wall,
        "p50": _pct(latencies, 0.5),
        "p99": _pct(latencies, 0.99),
        "won": statuses.get(201, 0),
        "reservations": reservations,
        "left": left,
        "statuses": statuses,
        "engine": engine,
        "engine_won": engine_won,
    }


async def bench_drop_rush(limelight, tmp_path, pg_database, capsys) -> None:
    base = await _baseline()
    runs = {
        "SQLite": await _limelight(limelight, f"sqlite://{tmp_path / 'rush.sqlite3'}"),
        "PostgreSQL": await _limelight(limelight, await pg_database()),
    }
    with capsys.disabled():
        print(
            f"\ndrop rush: {CLAIMS:,} concurrent claims over HTTP ({CONNECTIONS} sockets), "
            f"{UNITS} units, one per viewer"
        )
        print(f"  {'':28} {'wall':>7} {'claims/s':>9} {'p50':>8} {'p99':>8} {'reserved':>9}")
        print(
            f"  {'bare aiohttp, no database':28} {base['wall']:6.2f}s "
            f"{CLAIMS / base['wall']:9,.0f} {base['p50']:6.1f}ms {base['p99']:6.1f}ms "
            f"{base['won']:9}"
        )
        for backend, r in runs.items():
            print(
                f"  {'limelight, ' + backend:28} {r['wall']:6.2f}s "
                f"{CLAIMS / r['wall']:9,.0f} {r['p50']:6.1f}ms {r['p99']:6.1f}ms "
                f"{r['reservations']:9}   ({r['wall'] / base['wall']:.2f}x of bare; "
                f"answers {r['statuses']})"
            )
        for backend, r in runs.items():
            print(
                f"  {'engine only (no HTTP), ' + backend:28} {r['engine']:6.2f}s "
                f"{CLAIMS / r['engine']:9,.0f} {'':8} {'':8} {r['engine_won']:9}"
            )
        print("  goal: exactly 100 reservations; under 2 s on SQLite")
    for backend, r in runs.items():
        assert r["reservations"] == UNITS and r["won"] == UNITS and r["left"] == 0, r
        assert r["engine_won"] == UNITS, r
        key = "shop.drop_rush." + backend.lower()
        record(f"{key}.wall_s", r["wall"], base["wall"], unit="s")
        record(f"{key}.p99_ms", r["p99"], base["p99"], unit="ms")
        record(f"{key}.engine_s", r["engine"], unit="s")
