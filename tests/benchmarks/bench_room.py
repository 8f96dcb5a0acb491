"""Members' room benchmark: one member's line to every open room page. Printed, never
asserted.

N members hold a room page open (aiohttp WebSocket clients); one of them sends M lines,
one after another. Each line goes the whole way: the member's WebSocket, the bus
(dedupe, the event log, gating), the room's ``on_event`` (emote split, badges, history,
the room overlay) and every page's queue and writer. Measured: from ``send`` to the
moment each page has the line (p50, p99, max), and delivered lines per second. The
baseline, in the same run: the same line count published straight onto the bus as
platform chat (no WebSocket, no fan-out), so the ratio says what the room adds.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from limelight import ViewerRef
from limelight.testing import make_settings, start_harness
from limelight_room import RoomPlugin

from tests.room.vip_double import FakeVip

from .report import record, startup_heap_frozen

MEMBERS = 100
LINES = 100  # the room lets one member send at most 100 lines per 10 s


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def bench_room_fanout(tmp_path: Path, capsys: Any) -> None:
    settings = make_settings(tmp_path, {"plugins": {"room": {"rate": 100, "history": 50}}})
    h = await start_harness(settings, {"vip": FakeVip, "room": RoomPlugin})
    try:
        vip = h.plugin("vip", FakeVip)
        room = h.plugin("room", RoomPlugin)
        viewers = [ViewerRef("twitch", str(5000 + i), f"member{i}") for i in range(MEMBERS)]
        for v in viewers:
            await vip.grant(v, "silver", duration=timedelta(days=1), source="b", source_id=v.id)
        await h.settle()
        sockets = []
        for v in viewers:
            ws = await h.client.ws_connect(f"/room/{room.passes.token_for(v)}/ws")
            await ws.receive()  # hello
            sockets.append(ws)
        sent_at: dict[str, float] = {}
        latencies: list[float] = []

        counts = [0] * len(sockets)

        async def reader(n: int, ws: Any) -> None:
            while counts[n] < LINES:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    return  # dropped as too slow: counted as not delivered
                data = json.loads(msg.data)
                if data["type"] == "line":
                    text = data["line"]["fragments"][0]["text"]
                    latencies.append((time.perf_counter() - sent_at[text]) * 1000)
                    counts[n] += 1

        readers = [asyncio.create_task(reader(n, ws)) for n, ws in enumerate(sockets)]
        with startup_heap_frozen():  # the collector as `limelight run` has it
            started = time.perf_counter()
            for i in range(LINES):
                text = f"line {i}"
                sent_at[text] = time.perf_counter()
                await sockets[0].send_json({"type": "say", "text": text})
                # Pace like a lively room (the member stays under the rate limit).
                await asyncio.sleep(0.005)
            _done, pending = await asyncio.wait(readers, timeout=120)
            elapsed = time.perf_counter() - started
        for task in pending:
            task.cancel()
        missing = MEMBERS * LINES - sum(counts)
        evicted = room.room.hub.evicted
        for ws in sockets:
            await ws.close()
        # Baseline: the same lines as platform chat straight onto the bus.
        base_started = time.perf_counter()
        for i in range(LINES):
            await h.chat_as("someone", f"base {i}", settle=False)
        await h.settle()
        base_elapsed = time.perf_counter() - base_started
    finally:
        await h.close()
    delivered = sum(counts) / elapsed
    with capsys.disabled():
        print(f"\nroom: {LINES} lines from one member to {MEMBERS} open room pages")
        print(
            f"  send -> every page: p50 {pct(latencies, 50):7.2f} ms  p99 "
            f"{pct(latencies, 99):7.2f} ms  max {max(latencies):7.2f} ms  "
            f"(mean {statistics.fmean(latencies):.2f} ms)"
        )
        print(
            f"  delivered: {delivered:,.0f} lines/s over {elapsed:.2f} s; not delivered "
            f"{missing} (pages dropped as too slow: {evicted})"
        )
        print(f"  baseline, the same lines as platform chat onto the bus: {base_elapsed:.2f} s")
    record("room.fanout_100.p50_ms", pct(latencies, 50), unit="ms")
    record("room.fanout_100.p99_ms", pct(latencies, 99), unit="ms")
    record("room.fanout_100.lines_per_s", delivered, unit="lines/s")
    record("room.lines_100.seconds", elapsed, base_elapsed, unit="s")
    record("room.fanout_100.not_delivered", missing, unit="lines")
