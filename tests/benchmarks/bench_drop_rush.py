"""Drop rush: 10,000 concurrent claims on 100 units -> exactly 100 reservations.

Printed, never asserted (beyond the counts, which are the promise). On SQLite and
PostgreSQL, 10,000 distinct viewers claim a drop of ``UNITS`` units the two ways a real
rush arrives, each beside a bare baseline measured the same way in the same run:

* **chat**: ``!claim hoodie`` lines handed to the chat connector one after another, as a
  platform connector hands what it reads, through the whole chat pipeline (the bus with
  its dedupe and event log, gating, command routing, the command, its reply queued to
  chat). Timed until every claim is answered. Baseline: the same lines through the same
  pipeline, with the same plugins but the shop, to a ``!claim`` that counts units in
  memory (no database, no stock engine).
* **HTTP**: a POST per claim to the public drop page's endpoint (``/p/shop/claim``, a
  signed per-viewer link, JSON) over keep-alive connections from a bounded pool of
  aiohttp sessions in a process of its own (:mod:`.rush_client`: the viewers' browsers
  are not on the server's core). Baseline: a bare aiohttp handler doing the same
  per-request work (verify the link, parse the JSON, count) without a database.
* **engine only**: the same claims straight into ``Drops.claim``, all at once, beside
  the same 10,000 tasks counting in memory.

``BENCH_PROFILE=chat`` (or ``http``, ``engine``) prints a cProfile of that rush on SQLite
(``BENCH_PROFILE_SORT=tottime`` to sort by time spent in each function itself).
Goal: under 2 s on SQLite on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

from aiohttp import web
from limelight import Call, ViewerRef, command, hookimpl
from limelight.testing import Harness
from limelight_alerts import AlertsPlugin
from limelight_shop import ShopPlugin
from limelight_shop.links import LinkError, ViewerLinks
from limelight_shop.models import Drop, DropItem, Product, Reservation

from ..support import free_port
from . import rush_client
from .report import record

CLAIMS = 10_000
UNITS = 100
SECRET = "bench-shop-link-secret"
#: ``chat``, ``http`` or ``engine``: print a cProfile of that rush on SQLite.
PROFILE = os.environ.get("BENCH_PROFILE", "")

Figures = dict[str, Any]


def _viewers(prefix: str) -> list[ViewerRef]:
    return [ViewerRef("twitch", f"{prefix}{i}", f"{prefix}viewer{i}") for i in range(CLAIMS)]


def _bodies(links: ViewerLinks, sku: str) -> list[bytes]:
    return [
        json.dumps({"token": links.sign(viewer), "sku": sku}).encode() for viewer in _viewers("h")
    ]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


# -- chat ------------------------------------------------------------------------------------


class BareClaims:
    """The chat baseline's ``!claim``: the same answer, units counted in memory."""

    def __init__(self) -> None:
        self.left = UNITS

    @command("claim", aliases=("buy",))
    async def claim(self, call: Call, sku: str = "", variant: str = "") -> str:
        """Claim one (in memory)."""
        assert call.viewer is not None
        if self.left > 0:
            self.left -= 1
            return f"@{call.viewer.name} reserved for you for 10 min (SH-BARE0000): pay here"
        return f"@{call.viewer.name} sold out."

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register(self.claim)


async def _chat_rush(h: Harness, sku: str) -> Figures:
    """Every viewer types ``!claim <sku>`` once; timed until every line is answered."""
    connector = h.chat_connector
    messages = [connector.make_message(v, f"!claim {sku}") for v in _viewers("c")]
    await connector.receive(connector.make_message("warmup", "!help"))  # a running server
    await h.settle(timeout=60)
    said = len(connector.sent)
    started = time.perf_counter()
    for n, message in enumerate(messages):
        await connector.receive(message)
        if n % 10 == 9:  # a socket read yields to the loop
            await asyncio.sleep(0)
    await h.settle(timeout=300)
    wall = time.perf_counter() - started
    answers = [m.text for m in connector.sent[said:] if m.reply_to is not None]
    shed = sum(lane.shed for lane in h.services.bus.lanes.values())
    return {
        "wall": wall,
        "answered": len(answers),
        "won": sum(1 for a in answers if "reserved for you" in a),
        "shed": shed,
    }


# -- HTTP ------------------------------------------------------------------------------------


async def _http_rush(pool: ProcessPoolExecutor, url: str, bodies: list[bytes]) -> Figures:
    loop = asyncio.get_running_loop()
    out: Figures = await loop.run_in_executor(pool, rush_client.http_rush, url, bodies)
    out["p50"] = _pct(out["latencies"], 0.5)
    out["p99"] = _pct(out["latencies"], 0.99)
    out["won"] = out["statuses"].get(201, 0)
    return out


async def _bare_http(pool: ProcessPoolExecutor) -> Figures:
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
        return await _http_rush(
            pool, f"http://127.0.0.1:{port}/p/shop/claim", _bodies(links, "hoodie")
        )
    finally:
        await runner.cleanup()


# -- limelight -------------------------------------------------------------------------------


async def _open_drop(plugin: ShopPlugin, sku: str) -> Drop:
    product = await Product.create(sku=sku, name=sku.title(), price_minor=4500, currency="EUR")
    drop = await Drop.create(name=f"Rush {sku}", status="scheduled", per_viewer_limit=1)
    await DropItem.create(drop=drop, product=product, stock=UNITS, remaining=UNITS)
    assert await plugin.drops.open(drop.id)
    return drop


async def _settled(plugin: ShopPlugin, drop: Drop) -> Figures:
    """What the database holds after a rush; the drop is ended for the next one."""
    figures = {
        "reservations": await Reservation.filter(drop_id=drop.id).count(),
        "left": (await DropItem.get(drop_id=drop.id)).remaining,
    }
    await plugin.drops.end(drop.id)
    return figures


async def _engine_rush(plugin: ShopPlugin, sku: str) -> Figures:
    claim: Callable[[ViewerRef], Awaitable[Any]] = lambda v: plugin.drops.claim(v, sku)  # noqa: E731
    viewers = _viewers("e")
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(claim(v) for v in viewers))
    wall = time.perf_counter() - started
    return {"wall": wall, "won": sum(1 for o in outcomes if o.reservation is not None)}


async def _bare_engine() -> Figures:
    """The engine rush's floor: the same 10,000 tasks at once, units counted in memory."""
    left = UNITS

    async def claim(viewer: ViewerRef) -> bool:
        nonlocal left
        if left > 0:
            left -= 1
            return True
        return False

    viewers = _viewers("e")
    started = time.perf_counter()
    won = await asyncio.gather(*(claim(v) for v in viewers))
    return {"wall": time.perf_counter() - started, "won": sum(won)}


async def _profiled(way: str, backend: str, rush: Awaitable[Figures]) -> Figures:
    """``rush``, under cProfile when ``BENCH_PROFILE`` names this way (SQLite only): the
    server's side of it, since the HTTP client runs elsewhere."""
    if PROFILE != way or backend != "SQLite":
        return await rush
    profile = cProfile.Profile()
    profile.enable()
    try:
        figures = await rush
    finally:
        profile.disable()
    buffer = io.StringIO()
    order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")  # or tottime
    pstats.Stats(profile, stream=buffer).sort_stats(order).print_stats(40)
    figures["profile"] = buffer.getvalue()
    return figures


async def _limelight(
    limelight: Any, backend: str, database_url: str, pool: ProcessPoolExecutor
) -> Figures:
    h = await limelight(
        plugins={"shop": ShopPlugin, "alerts": AlertsPlugin},
        database_url=database_url,
        config={"plugins": {"shop": {"link_secret": SECRET, "stock_lines_every": 0}}},
    )
    plugin = h.plugin("shop", ShopPlugin)
    out: Figures = {}

    drop = await _open_drop(plugin, "hoodie")
    await h.client.get("/p/shop/drop.json")  # a running server: routes and templates warm
    bodies = _bodies(plugin.links, "hoodie")
    out["http"] = await _profiled("http", backend, _http_rush(pool, h.url("/p/shop/claim"), bodies))
    out["http"].update(await _settled(plugin, drop))

    drop = await _open_drop(plugin, "tee")
    out["chat"] = await _profiled("chat", backend, _chat_rush(h, "tee"))
    out["chat"].update(await _settled(plugin, drop))

    drop = await _open_drop(plugin, "cap")
    out["engine"] = await _profiled("engine", backend, _engine_rush(plugin, "cap"))
    out["engine"].update(await _settled(plugin, drop))
    await h.client.close()
    return out


async def bench_drop_rush(limelight, tmp_path, pg_database, capsys) -> None:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(pool, rush_client.ready)  # started, not timed
        bare_http = await _bare_http(pool)
        bare = await limelight(plugins={"claims": BareClaims(), "alerts": AlertsPlugin})
        bare_chat = await _chat_rush(bare, "hoodie")
        await bare.client.close()
        bare_engine = await _bare_engine()
        runs = {
            "SQLite": await _limelight(
                limelight, "SQLite", f"sqlite://{tmp_path / 'rush.sqlite3'}", pool
            ),
            "PostgreSQL": await _limelight(limelight, "PostgreSQL", await pg_database(), pool),
        }
    sessions = f"{rush_client.SESSIONS} sessions x {rush_client.PER_SESSION} keep-alive"
    with capsys.disabled():
        print(
            f"\ndrop rush: {CLAIMS:,} claims by {CLAIMS:,} viewers on {UNITS} units "
            f"(one per viewer), {os.cpu_count()} cores"
        )
        print(f"  {'':36} {'wall':>7} {'claims/s':>9} {'p50':>8} {'p99':>8} {'reserved':>9}")

        def line(label: str, r: Figures, base: Figures | None, extra: str = "") -> None:
            reserved = r.get("reservations", r["won"])
            p50 = f"{r['p50']:6.1f}ms" if "p50" in r else f"{'':8}"
            p99 = f"{r['p99']:6.1f}ms" if "p99" in r else f"{'':8}"
            ratio = f"  {r['wall'] / base['wall']:.2f}x of bare" if base else ""
            print(
                f"  {label:36} {r['wall']:6.2f}s {CLAIMS / r['wall']:9,.0f} {p50} {p99} "
                f"{reserved:9}{ratio}{extra}"
            )

        print("  chat: !claim lines through the chat pipeline, until every one is answered")
        line("  bare !claim (memory, no database)", bare_chat, None)
        for backend, r in runs.items():
            c = r["chat"]
            line(f"  limelight, {backend}", c, bare_chat, f"  ({c['answered']:,} answered)")
        print(f"  HTTP: POST /p/shop/claim, {sessions}, client in its own process")
        line("  bare aiohttp (no database)", bare_http, None)
        for backend, r in runs.items():
            h = r["http"]
            line(
                f"  limelight, {backend}",
                h,
                bare_http,
                f"  ({h['connections']} connections for {CLAIMS:,} claims; {h['statuses']})",
            )
        print("  engine only: Drops.claim, all at once, no chat, no HTTP")
        line("  bare tasks (memory, no database)", bare_engine, None)
        for backend, r in runs.items():
            line(f"  limelight, {backend}", r["engine"], bare_engine)
        print(f"  goal: exactly {UNITS} reservations each; under 2 s on SQLite")
        if PROFILE in ("chat", "http", "engine"):
            print(f"cProfile of the {PROFILE} rush on SQLite:")
            print(runs["SQLite"][PROFILE]["profile"])
    assert bare_chat["won"] == bare_http["won"] == bare_engine["won"] == UNITS
    for backend, r in runs.items():
        for way in ("chat", "http", "engine"):
            f = r[way]
            assert f["reservations"] == UNITS and f["won"] == UNITS and f["left"] == 0, (way, f)
        assert r["chat"]["answered"] == CLAIMS, r["chat"]
        key = "shop.drop_rush." + backend.lower()
        record(f"{key}.chat_s", r["chat"]["wall"], bare_chat["wall"], unit="s")
        record(f"{key}.http_s", r["http"]["wall"], bare_http["wall"], unit="s")
        record(f"{key}.http_p99_ms", r["http"]["p99"], bare_http["p99"], unit="ms")
        record(f"{key}.engine_s", r["engine"]["wall"], bare_engine["wall"], unit="s")
