"""The drop-rush benchmark's HTTP load: viewers' browsers, in a process of their own.

Why a second process: a rush comes from thousands of other machines. An HTTP client in
the server's own process and event loop spends the same core the server needs (parsing
every answer, building every request), and measures mostly itself. Here the client has
the other core of a 2-core machine, and the server is measured alone.

Why keep-alive and a bounded pool: a browser keeps its connection to the page's server
open and sends the claim on it. ``SESSIONS`` aiohttp sessions, each with at most
``PER_SESSION`` keep-alive connections, send the claims as fast as answers come back
(``SESSIONS * PER_SESSION`` in flight, the rest waiting their turn in the client, as a
queue of viewers would). The connections each session opens are counted (aiohttp's
tracing), so the figure shows they were reused rather than opened per claim.

Only the standard library and aiohttp here: the process starts in well under a second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

SESSIONS = 8
PER_SESSION = 16


def http_rush(url: str, bodies: list[bytes]) -> dict[str, Any]:
    """POST every body to ``url`` (JSON) and report: ``wall`` (s, first request to last
    answer), per-claim ``latencies`` (s, request sent to answer read), ``statuses``
    (status -> count) and ``connections`` (TCP connections opened)."""
    return asyncio.run(_rush(url, bodies))


def ready() -> bool:
    """A no-op the parent runs first, so the process start is not timed."""
    return True


async def _rush(url: str, bodies: list[bytes]) -> dict[str, Any]:
    opened = 0

    async def on_connection(*_: Any) -> None:
        nonlocal opened
        opened += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_connection)
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = iter(bodies)

    async def viewer(session: aiohttp.ClientSession) -> None:
        for body in pending:  # the shared iterator: each claim is sent once
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append(time.perf_counter() - t0)

    sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=PER_SESSION, force_close=False),
            trace_configs=[trace],
        )
        for _ in range(SESSIONS)
    ]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(viewer(s) for s in sessions for _ in range(PER_SESSION)))
        wall = time.perf_counter() - started
    finally:
        for session in sessions:
            await session.close()
    return {"wall": wall, "latencies": latencies, "statuses": statuses, "connections": opened}
