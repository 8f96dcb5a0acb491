"""Tips benchmark: verified webhook -> committed event, ledger entry and alert -> 2xx.

Printed, never asserted. For SQLite and PostgreSQL it sends ``N_TIPS`` signed deliveries
over real HTTP from ``CONCURRENCY`` concurrent senders and reports:

* tips/s: deliveries until the last one's ledger row is committed (end to end; the row
  commits with the event, before the 2xx),
* p50/p99 of the time to the 2xx,
* reacted/s: until every tip's alert is in the overlay outbox and every plugin has seen
  every tip (thanks, leaderboard),
* the mean group-commit batch (events per disk flush),

against a bare aiohttp handler that does the same verification and parsing without any
database, and (SQLite) against Limelight with group commit switched off (one transaction
per event), in the same run. Goal: at least 1,000 tips/s on SQLite with durable commits
(WAL, synchronous=FULL, printed from the database itself: every commit is on disk before
the answer).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import stripe
from aiohttp import web
from limelight import Money
from limelight.models import OverlayAlert
from limelight.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers, verify_hmac
from limelight_alerts import AlertsPlugin
from limelight_tips import TipsPlugin
from limelight_tips.models import LedgerEntry

from ..support import free_port, wait_until
from .report import record, rss_mb, startup_heap_frozen

N_TIPS = 1_000
CONCURRENCY = 32
SECRET = "bench-generic-secret-0123456789"
STRIPE_SECRET = "whsec_bench_0123456789abcdef"


def _generic(i: int, run: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": f"{run}-{i}",
            "amount": "5.00",
            "currency": "USD",
            "name": f"viewer{i % 300}",
            "message": "great stream",
        }
    ).encode()
    return body, {"Content-Type": "application/json", **signed_headers(SECRET, body)}


def _stripe(i: int, run: str) -> tuple[bytes, dict[str, str]]:
    event = {
        "id": f"evt_{run}_{i}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "livemode": True,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"pi_{run}_{i}",
                "object": "payment_intent",
                "amount_received": 500,
                "currency": "usd",
                "metadata": {"name": f"viewer{i % 300}"},
            }
        },
    }
    payload = json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(payload, STRIPE_SECRET)
    return payload.encode(), {"Content-Type": "application/json", "Stripe-Signature": header}


async def _drive(
    url: str, requests: list[tuple[bytes, dict[str, str]]]
) -> tuple[list[float], float]:
    """POST every request with CONCURRENCY senders; latencies of the 2xx, wall time."""
    latencies: list[float] = []
    pending = list(reversed(requests))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)

    async def sender(session: aiohttp.ClientSession) -> None:
        while pending:
            body, headers = pending.pop()
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                assert response.status == 200, await response.text()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(sender(session) for _ in range(CONCURRENCY)))
    return latencies, time.perf_counter() - started


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def _baseline(kind: str) -> tuple[list[float], float]:
    """The same verification and parsing in a bare aiohttp handler: no bus, no database."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if kind == "generic":
            verify_hmac(
                SECRET,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                body,
            )
            payload = json.loads(body)
            Money.parse_positive(payload["amount"], payload["currency"])
        else:
            stripe.WebhookSignature.verify_header(
                body, request.headers["Stripe-Signature"], STRIPE_SECRET, 300
            )
            payload = json.loads(body)
            Money(payload["data"]["object"]["amount_received"], "USD")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/webhooks/{provider}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    make = _generic if kind == "generic" else _stripe
    try:
        requests = [make(i, f"base-{kind}") for i in range(N_TIPS)]
        with startup_heap_frozen():  # the same heap as the Limelight runs
            return await _drive(f"http://127.0.0.1:{port}/webhooks/{kind}", requests)
    finally:
        await runner.cleanup()


async def _tips_server(limelight: Any, database_url: str) -> Any:
    """A Limelight with the tips plugin taking generic and Stripe webhooks, no chat thanks."""
    return await limelight(
        plugins={"tips": TipsPlugin, "alerts": AlertsPlugin},  # tips requires alerts
        database_url=database_url,
        config={
            "webhooks": {"generic": {"secret": SECRET}, "stripe": {"secret": STRIPE_SECRET}},
            "plugins": {"tips": {"thanks": False}},
        },
    )


async def _limelight_run(
    limelight: Any, database_url: str, kind: str, *, group_commit: bool = True
) -> dict[str, Any]:
    h = await _tips_server(limelight, database_url)
    writer = h.services.bus.writer
    if not group_commit:
        writer.max_batch = 1
    synchronous = ""
    if database_url.startswith("sqlite"):
        rows = await LedgerEntry._meta.db.execute_query_dict("PRAGMA synchronous")
        synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[rows[0]["synchronous"]]
    make = _generic if kind == "generic" else _stripe
    requests = [make(i, f"ll-{kind}-{group_commit}") for i in range(N_TIPS)]
    url = h.url(f"/webhooks/{kind}")

    async def all_committed() -> bool:
        return await LedgerEntry.all().count() >= N_TIPS

    async def all_reacted() -> bool:
        lanes = h.services.bus.lanes.values()
        return all(not lane.queue for lane in lanes) and (
            await OverlayAlert.filter(kind="tip").count() >= N_TIPS
        )

    with startup_heap_frozen():  # as `limelight run` does a second after it answers
        started = time.perf_counter()
        latencies, answered = await _drive(url, requests)
        await wait_until(all_committed, timeout=600, interval=0.005)
        total = time.perf_counter() - started
        await wait_until(all_reacted, timeout=600, interval=0.005)
        await h.settle()
        reacted = time.perf_counter() - started
    stats = writer.stats()
    await h.client.close()
    return {
        "tips_s": N_TIPS / total,
        "answered_s": N_TIPS / answered,
        "reacted_s": N_TIPS / reacted,
        "p50": _pct(latencies, 0.50),
        "p99": _pct(latencies, 0.99),
        "batch": stats["mean_batch"],
        "synchronous": synchronous,
    }


async def _report(capsys: Any, label: str, runs: dict[str, dict[str, Any]], kind: str) -> None:
    base_lat, base_wall = await _baseline(kind)
    base = {"tips_s": N_TIPS / base_wall, "p50": _pct(base_lat, 0.5), "p99": _pct(base_lat, 0.99)}
    with capsys.disabled():
        print(
            f"\ntips ({label}, {kind} provider): {N_TIPS} signed deliveries, "
            f"{CONCURRENCY} concurrent senders over HTTP"
        )
        print(
            f"  {'':36} {'tips/s':>7} {'2xx p50':>9} {'2xx p99':>9} {'reacted/s':>9} {'batch':>6}"
        )
        print(
            f"  {'bare aiohttp, verify only':36} {base['tips_s']:7,.0f} "
            f"{base['p50']:7.2f}ms {base['p99']:7.2f}ms"
        )
        for backend, r in runs.items():
            print(
                f"  {'limelight, ' + backend:36} {r['tips_s']:7,.0f} "
                f"{r['p50']:7.2f}ms {r['p99']:7.2f}ms {r['reacted_s']:9,.0f} "
                f"{r['batch']:6.1f}   ({r['tips_s'] / base['tips_s']:.2f}x of bare)"
            )
        durability = {r["synchronous"] for r in runs.values() if r["synchronous"]}
        print(
            f"  SQLite synchronous={'/'.join(sorted(durability))} (WAL): every commit is "
            "flushed to disk before its 2xx"
        )
        print("  goal: >= 1,000 tips/s on SQLite, end to end, durable commits")
    prefix = f"tips.{kind}"
    record(f"{prefix}.bare.p99_ms", base["p99"], unit="ms")
    for backend, r in runs.items():
        key = f"{prefix}.{_key(backend)}"
        record(f"{key}.tips_per_s", r["tips_s"], base["tips_s"], unit="tips/s")
        record(f"{key}.p50_ms", r["p50"], base["p50"], unit="ms")
        record(f"{key}.p99_ms", r["p99"], base["p99"], unit="ms")
        record(f"{key}.reacted_per_s", r["reacted_s"], base["tips_s"], unit="tips/s")
        record(f"{key}.mean_batch", r["batch"], unit="rows/commit")


def _key(label: str) -> str:
    """A JSON key from a printed label: "SQLite, one commit per tip" becomes
    sqlite_one_commit_per_tip."""
    return "_".join("".join(c if c.isalnum() else " " for c in label.lower()).split())


async def bench_tips_generic(limelight, tmp_path, pg_database, capsys) -> None:
    runs = {
        "SQLite": await _limelight_run(limelight, f"sqlite://{tmp_path / 'b.sqlite3'}", "generic")
    }
    runs["SQLite, one commit per tip"] = await _limelight_run(
        limelight, f"sqlite://{tmp_path / 'one.sqlite3'}", "generic", group_commit=False
    )
    runs["PostgreSQL"] = await _limelight_run(limelight, await pg_database(), "generic")
    await _report(capsys, "HMAC-SHA256", runs, "generic")


async def bench_tips_stripe(limelight, tmp_path, capsys) -> None:
    runs = {
        "SQLite": await _limelight_run(limelight, f"sqlite://{tmp_path / 's.sqlite3'}", "stripe")
    }
    await _report(capsys, "Stripe-Signature via the stripe package", runs, "stripe")


#: Ledger rows already there in :func:`bench_tips_long_ledger`: years of tips of a big
#: channel, the scale where the all-time leaderboard's scan takes most of a second.
LONG_LEDGER = 200_000


async def _fill_ledger(rows: int) -> None:
    """``rows`` past tips from 5,000 payers, written in one statement (about a second)."""
    await LedgerEntry._meta.db.execute_script(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
        INSERT INTO tips_ledger (provider, provider_id, kind, detail, amount_minor, currency,
            viewer_pk, viewer_platform, viewer_id, viewer_name, anonymous, message,
            occurred_at, created_at, event_id, reason, reacted, refund_of)
        SELECT 'past', 'past-' || i, 'tip', 'tip', 100 + i % 900, 'USD', NULL, 'generic',
            'payer' || (i % 5000), 'payer' || (i % 5000), 0, '',
            strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'),
            strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'), NULL, '', 1, ''
        FROM n
        """
    )


async def _long_ledger_run(limelight: Any, database_url: str, rows: int) -> dict[str, float]:
    h = await _tips_server(limelight, database_url)
    await _fill_ledger(rows)
    requests = [_generic(i, f"long-{rows}") for i in range(N_TIPS)]
    with startup_heap_frozen():
        latencies, wall = await _drive(h.url("/webhooks/generic"), requests)
    await h.client.close()
    return {"tips_s": N_TIPS / wall, "p99": _pct(latencies, 0.99), "max": max(latencies) * 1000}


async def bench_tips_long_ledger(limelight, tmp_path, capsys) -> None:
    """The same signed tips into a ledger that already holds LONG_LEDGER rows, against an
    empty one in the same run. The leaderboard and the goal are recomputed from the whole
    ledger while the tips come in; on SQLite they read on a connection of their own
    (``ctx.db.reader``), so the commits (and the 2xx behind them) do not queue behind the
    scan. Goal: the 2xx p99 about the same as with an empty ledger."""
    empty = await _long_ledger_run(limelight, f"sqlite://{tmp_path / 'empty.sqlite3'}", 1)
    full = await _long_ledger_run(limelight, f"sqlite://{tmp_path / 'long.sqlite3'}", LONG_LEDGER)
    with capsys.disabled():
        print(
            f"\ntips into a long ledger (SQLite, generic provider): {N_TIPS} signed deliveries, "
            f"{CONCURRENCY} concurrent senders, the boards recomputed as they come"
        )
        print(f"  {'':34} {'tips/s':>7} {'2xx p99':>9} {'2xx max':>9}")
        for label, r in ((f"{1:,} ledger row", empty), (f"{LONG_LEDGER:,} ledger rows", full)):
            print(f"  {label:34} {r['tips_s']:7,.0f} {r['p99']:7.1f}ms {r['max']:7.1f}ms")
        print(
            f"  p99 {full['p99'] / empty['p99']:.2f}x the empty ledger's "
            "(goal: about 1x: the all-time board's scan does not hold up the commits)"
        )
    record("tips.long_ledger.tips_per_s", full["tips_s"], empty["tips_s"], unit="tips/s")
    record("tips.long_ledger.p99_ms", full["p99"], empty["p99"], unit="ms")


async def _export(url: str, headers: dict[str, str]) -> dict[str, float]:
    """Download ``url`` (a CSV export) once: seconds to the first byte and to the end,
    bytes, and the process's resident memory at its highest while it ran (sampled every
    10 ms; the server is in this process)."""
    before = peak = rss_mb()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    size, first = 0, float("nan")
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        assert r.status == 200, await r.text()
        async for chunk in r.content.iter_any():
            if not size:
                first = time.perf_counter() - started
            size += len(chunk)
    wall = time.perf_counter() - started
    done.set()
    await sampler
    return {"first_ms": first * 1000, "s": wall, "mb": size / 1e6, "rss_mb": peak - before}


async def _loop_lag(stop: asyncio.Event) -> float:
    """The longest the event loop kept a 5 ms timer waiting until ``stop``, in ms."""
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        worst = max(worst, time.perf_counter() - started - 0.005)
    return worst * 1000


async def bench_tips_during_export(limelight, tmp_path, capsys) -> None:
    """The tips dashboard's CSV export of a LONG_LEDGER-row ledger, read and sent a page
    at a time on ``ctx.db.reader`` (``limelight.web.export``), while 1,000 signed tips come
    in, against the same tips without an export in the same run. Goals: the download starts
    at once, memory stays at a page, and the tips' 2xx p99 is about the same (read in one
    piece, as the exports first were: 6.7 s to the first byte, +270 MB, and a p99 of 2 s)."""
    h = await _tips_server(limelight, f"sqlite://{tmp_path / 'export.sqlite3'}")
    await _fill_ledger(LONG_LEDGER)
    export_url, webhook = h.url("/api/tips/export.csv"), h.url("/webhooks/generic")
    alone = await _export(export_url, h.admin_headers)
    with startup_heap_frozen():
        await _drive(webhook, [_generic(i, "warm-up") for i in range(N_TIPS // 4)])
        quiet, _ = await _drive(webhook, [_generic(i, "quiet") for i in range(N_TIPS)])
        stop = asyncio.Event()
        lag = asyncio.create_task(_loop_lag(stop))
        exporting = asyncio.create_task(_export(export_url, h.admin_headers))
        busy, _ = await _drive(webhook, [_generic(i, "export") for i in range(N_TIPS)])
        beside = await exporting
        stop.set()
        worst_lag = await lag
    await h.client.close()
    with capsys.disabled():
        print(
            f"\ntips during a CSV export (SQLite): the export of {LONG_LEDGER:,} ledger rows "
            f"({alone['mb']:.1f} MB) alone and beside {N_TIPS} signed deliveries"
        )
        print(f"  {'':26} {'first byte':>10} {'download':>9} {'memory':>9}")
        for label, r in (("alone", alone), ("beside the tips", beside)):
            print(f"  {label:26} {r['first_ms']:8.0f}ms {r['s']:8.2f}s {r['rss_mb']:+7.1f}MB")
        print(
            f"  tips' 2xx p99: {_pct(busy, 0.99):.1f} ms during the export, "
            f"{_pct(quiet, 0.99):.1f} ms without ({_pct(busy, 0.99) / _pct(quiet, 0.99):.2f}x; "
            f"goal about 1x); the loop's longest wait {worst_lag:.0f} ms"
        )
    record("tips.export.first_byte_ms", alone["first_ms"], unit="ms")
    record("tips.export.rss_mb", alone["rss_mb"], unit="MB")
    record("tips.export.p99_ms", _pct(busy, 0.99), _pct(quiet, 0.99), unit="ms")
