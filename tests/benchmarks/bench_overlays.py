"""Overlay benchmarks: event accepted -> overlay frame received, and a frozen client.

Run with ``make bench``. Figures are printed, never asserted. The browser sources are
simulated by plain WebSocket clients in a separate process (this file run as a script), so
their JSON handling does not compete with the server for the event loop; latency is
measured with CLOCK_MONOTONIC, which both processes share.

* Latency at 10 and 200 clients with events at 200/s, through the whole path: bus (dedupe,
  persist), the alerts plugin, the durable outbox (a committed row per alert), the
  broadcast. Baseline: a bare aiohttp WebSocket server that only broadcasts.
* One event to 1,000 clients.
* One frozen client among 50: the healthy clients' p99 without and with it, against a naive
  ``for ws in clients: await ws.send_str(...)`` broadcast loop, all in one run.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

RATE = 200  # events per second
SECONDS = 2.0
PAD = 2_000  # bytes of padding per alert, about a real alert with a message


# -- the client process ------------------------------------------------------------------------


async def _clients_main(url: str, count: int, expected: int, deadline: float) -> None:
    """Open ``count`` sockets, say READY, record (seq, receive time) until ``expected``
    alerts arrived on each or the deadline passed; print the records as JSON."""
    import aiohttp

    pattern = re.compile(r'"viewers":(\d+)')
    results: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    ready = asyncio.Event()
    connected = 0

    async def one(i: int, session: aiohttp.ClientSession) -> None:
        nonlocal connected
        async with session.ws_connect(url, max_msg_size=0) as ws:
            await ws.receive()  # hello
            connected += 1
            if connected == count:
                ready.set()
            got = results[i]
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                text = msg.data
                if text.startswith('{"type":"alert"'):
                    found = pattern.search(text)
                    if found:
                        got.append((int(found.group(1)), time.monotonic()))
                        if len(got) >= expected:
                            return

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(one(i, session)) for i in range(count)]
        await ready.wait()
        print("READY", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        end = time.monotonic() + float(line.strip() or deadline)
        await asyncio.wait(tasks, timeout=max(0.1, end - time.monotonic()))
        for task in tasks:
            task.cancel()
    print(json.dumps(results), flush=True)


async def _never_reading_main(host: str, port: int, path: str, count: int) -> None:
    """Open ``count`` pages that never read (50 handshakes at a time), print how many
    opened and the seconds it took, hold them until stdin closes."""
    gate = asyncio.Semaphore(50)
    sockets: list[socket.socket] = []

    async def one() -> None:
        async with gate:
            sockets.append(await frozen_socket(host, port, path))

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    print(f"OPEN {len(sockets)} {time.monotonic() - started:.3f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for sock in sockets:
        sock.close()


class NeverReading:
    """``count`` pages that never read, opened by a process of their own (so their
    handshakes do not run in the server's loop); ``await open()``, then ``close()``."""

    def __init__(self, host: str, port: int, path: str, count: int) -> None:
        self.args = (host, str(port), path, str(count))
        self.proc: asyncio.subprocess.Process | None = None
        self.opened = 0
        self.took = float("nan")

    async def open(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--never-read",
            *self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 300)).split()
        if line[:1] != [b"OPEN"]:
            raise RuntimeError(f"the never-reading pages did not open: {line!r}")
        self.opened, self.took = int(line[1]), float(line[2])

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class Clients:
    """A client process; ``await start()``, then ``collect()`` after the events were sent."""

    def __init__(self, url: str, count: int, expected: int) -> None:
        self.url, self.count, self.expected = url, count, expected
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            self.url,
            str(self.count),
            str(self.expected),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            limit=2**28,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        if line.strip() != b"READY":
            raise RuntimeError(f"client process failed to start: {line!r}")

    async def collect(self, wait: float) -> list[list[tuple[int, float]]]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{wait}\n".encode())
        await self.proc.stdin.drain()
        data = await asyncio.wait_for(self.proc.stdout.readline(), wait + 60)
        await self.proc.wait()
        return json.loads(data)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


# -- servers under test -----------------------------------------------------------------------


@asynccontextmanager
async def limelight_server(
    tmp: Path, plugins: dict[str, Any] | None = None, **overlays: Any
) -> AsyncIterator[Any]:
    from limelight.testing import make_settings, start_harness
    from limelight_alerts import AlertsPlugin

    # Up to 1,000 pages of one overlay here: above the default cap of pages per overlay.
    settings = make_settings(tmp, {"overlays": {"max_clients": 2000, **overlays}})
    h = await start_harness(settings, {"alerts": AlertsPlugin, **(plugins or {})})
    try:
        yield h
    finally:
        await h.client.close()


class NaiveBroadcast:
    """The classic overlay server: one loop that awaits every client's send in turn."""

    def __init__(self, pad: int = PAD) -> None:
        from aiohttp import web

        self.pad = pad
        self.clients: list[Any] = []
        self.transports: list[Any] = []
        self.app = web.Application()
        self.app.router.add_get("/ws", self.handler)
        self.runner: Any = None
        self.port = 0

    async def handler(self, request: Any) -> Any:
        from aiohttp import web

        ws = web.WebSocketResponse(compress=False)
        self.transports.append(request.transport)
        await ws.prepare(request)
        await ws.send_str('{"type":"hello"}')
        self.clients.append(ws)
        try:
            async for _ in ws:
                pass
        finally:
            self.clients.remove(ws)
        return ws

    async def start(self) -> str:
        from aiohttp import web

        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}/ws"

    async def broadcast(self, seq: int) -> None:
        text = json.dumps(
            {"type": "alert", "id": seq, "data": {"viewers": seq, "message": "x" * self.pad}},
            separators=(",", ":"),
        )
        for ws in list(self.clients):
            await ws.send_str(text)

    async def stop(self) -> None:
        # Abort rather than close: a polite close to a frozen client would wait forever.
        for transport in self.transports:
            if not transport.is_closing():
                transport.abort()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self.runner.cleanup(), 5)


async def frozen_socket(host: str, port: int, path: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(
        sock,
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode(),
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += await loop.sock_recv(sock, 1)
    return sock


# -- measuring -----------------------------------------------------------------------------------


async def paced(count: int, rate: float, send: Callable[[int], Any]) -> dict[int, float]:
    """Call ``send(seq)`` ``count`` times at ``rate`` per second; return seq -> start time."""
    started: dict[int, float] = {}
    t0 = time.monotonic()
    for seq in range(count):
        delay = t0 + seq / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        started[seq] = time.monotonic()
        await send(seq)
    return started


def latencies(
    results: list[list[tuple[int, float]]], started: dict[int, float], skip: int = 0
) -> tuple[list[float], int]:
    """Latencies in ms of every (client, event) received, and how many never arrived."""
    out: list[float] = []
    missing = 0
    for got in results[skip:]:
        seen = {seq: t for seq, t in got}
        for seq, t0 in started.items():
            if seq in seen:
                out.append((seen[seq] - t0) * 1000)
            else:
                missing += 1
    return out, missing


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def describe(values: list[float], missing: int = 0) -> str:
    text = f"p50 {pct(values, 50):7.2f} ms  p99 {pct(values, 99):8.2f} ms"
    if values:
        text += f"  mean {statistics.fmean(values):7.2f} ms"
    if missing:
        text += f"  NOT DELIVERED {missing}"
    return text


async def run_limelight(
    h: Any,
    clients: int,
    events: int,
    rate: float,
    *,
    frozen: int = 0,
    wait: float = 10.0,
    during: Callable[[], Awaitable[Any]] | None = None,
) -> tuple[list[float], int]:
    """Latencies of ``events`` raids at ``rate`` to ``clients`` reading pages; ``during``
    (a chat flood, a storm of pages that never read) runs in the server's loop alongside
    the events, started with them and awaited before the pages are read out."""
    from limelight import Raid, ViewerRef

    server = h.client.server
    sockets = [
        await frozen_socket(
            server.host, server.port, "/overlays/ws?token=test-overlay-token&overlay=alerts"
        )
        for _ in range(frozen)
    ]
    # The reading pages are up to date (``since`` the newest alert): they are sent the
    # events measured here, not a replay of alerts an earlier round left in the outbox.
    since = h.services.overlays.outbox.last_real_id
    group = Clients(
        h.url(f"/overlays/ws?token=test-overlay-token&overlay=alerts&since={since}"),
        clients,
        events,
    )
    await group.start()
    viewer = ViewerRef("twitch", "bench", "Bench")
    run = os.urandom(4).hex()
    bus = h.services.bus

    async def send(seq: int) -> None:
        await bus.publish(
            Raid(source="bench", source_id=f"{run}-{seq}", viewer=viewer, viewers=seq)
        )

    load = asyncio.create_task(during()) if during is not None else None
    try:
        started = await paced(events, rate, send)
        if load is not None:
            await load
        results = await group.collect(wait)
    finally:
        if load is not None and not load.done():
            load.cancel()
            await asyncio.gather(load, return_exceptions=True)
        await group.kill()
        for sock in sockets:
            sock.close()
    return latencies(results, started)


async def run_naive(
    clients: int, events: int, rate: float, *, frozen: int = 0, wait: float = 10.0, pad: int = PAD
) -> tuple[list[float], int]:
    naive = NaiveBroadcast(pad)
    url = await naive.start()
    sockets = [await frozen_socket("127.0.0.1", naive.port, "/ws") for _ in range(frozen)]
    from ..support import wait_until

    await wait_until(lambda: len(naive.clients) >= frozen)
    group = Clients(url, clients, events)
    await group.start()
    pending: set[asyncio.Task[None]] = set()

    async def send(seq: int) -> None:
        # The naive server does not wait for one broadcast before starting the next event,
        # but every broadcast walks the clients in order and awaits each send.
        task = asyncio.create_task(naive.broadcast(seq))
        pending.add(task)
        task.add_done_callback(pending.discard)

    try:
        started = await paced(events, rate, send)
        results = await group.collect(wait)
    finally:
        await group.kill()
        for task in list(pending):
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for sock in sockets:
            sock.close()
        await naive.stop()
    return latencies(results, started)


@contextmanager
def padded_alerts(pad: int) -> Iterator[None]:
    """Raid alerts from the alerts plugin carry a name and a count; add a message of
    ``pad`` bytes so frames are as large as a real alert's (or larger)."""
    from limelight_alerts import AlertsPlugin

    original = AlertsPlugin.alert_data

    def padded(self: AlertsPlugin, event: Any) -> Any:
        data = original(self, event)
        if data is not None:
            data["message"] = "x" * pad
        return data

    AlertsPlugin.alert_data = padded  # type: ignore[method-assign]
    try:
        yield
    finally:
        AlertsPlugin.alert_data = original  # type: ignore[method-assign]


def _record(figures: dict[str, tuple[float, float]]) -> None:
    """Each figure with its baseline into bench-results.json. Imported here, not at the
    top: this file also runs as a plain script (the client process), outside the package."""
    from .report import record

    for name, (value, baseline) in figures.items():
        unit = "ms" if name.endswith("_ms") else "frames"
        record(name, value, baseline, unit=unit)


# -- benchmarks --------------------------------------------------------------------------------


async def bench_event_to_overlay_latency(tmp_path: Path, capsys: Any) -> None:
    events = int(RATE * SECONDS)
    lines = []
    figures: dict[str, tuple[float, float]] = {}
    for clients in (10, 200):
        with padded_alerts(PAD):
            async with limelight_server(tmp_path / f"lat{clients}") as h:
                ours, missing = await run_limelight(h, clients, events, RATE)
        base, base_missing = await run_naive(clients, events, RATE, pad=PAD)
        lines.append(f"  {clients:4d} clients  limelight: {describe(ours, missing)}")
        lines.append(
            f"  {clients:4d} clients  bare ws  : {describe(base, base_missing)}"
            f"  (p99 ratio {pct(ours, 99) / max(pct(base, 99), 1e-9):.1f}x)"
        )
        figures[f"overlays.latency.{clients}_clients.p50_ms"] = (pct(ours, 50), pct(base, 50))
        figures[f"overlays.latency.{clients}_clients.p99_ms"] = (pct(ours, 99), pct(base, 99))
        figures[f"overlays.latency.{clients}_clients.not_delivered"] = (missing, base_missing)
    with capsys.disabled():
        print(
            f"\noverlays: event accepted -> frame received, {RATE} events/s for "
            f"{SECONDS:g} s (goal: p99 < 50 ms at 10 clients)"
        )
        print("\n".join(lines))
    _record(figures)


async def bench_one_event_to_1000_clients(tmp_path: Path, capsys: Any) -> None:
    async with limelight_server(tmp_path / "fanout") as h:
        ours, missing = await run_limelight(h, 1000, 1, 1.0, wait=30)
    base, base_missing = await run_naive(1000, 1, 1.0, wait=30)
    with capsys.disabled():
        print("\noverlays: one event to 1,000 clients (last client = max)")
        print(f"  limelight: {describe(ours, missing)}  max {max(ours, default=0):8.2f} ms")
        print(f"  bare ws  : {describe(base, base_missing)}  max {max(base, default=0):8.2f} ms")
    _record(
        {
            "overlays.fanout_1000.p50_ms": (pct(ours, 50), pct(base, 50)),
            "overlays.fanout_1000.max_ms": (max(ours, default=0), max(base, default=0)),
            "overlays.fanout_1000.not_delivered": (missing, base_missing),
        }
    )


async def bench_frozen_client(tmp_path: Path, capsys: Any) -> None:
    events = int(RATE * 3)
    pad = 20_000  # big frames fill the frozen client's buffers within the run
    with padded_alerts(pad):
        async with limelight_server(tmp_path / "calm", send_timeout=1.0) as h:
            calm, calm_missing = await run_limelight(h, 50, events, RATE)
        async with limelight_server(tmp_path / "frozen", send_timeout=1.0) as h:
            frozen, frozen_missing = await run_limelight(h, 50, events, RATE, frozen=1)
            evicted = h.services.overlays.channel("alerts").evicted
    naive_calm, naive_calm_missing = await run_naive(50, events, RATE, pad=pad)
    naive_frozen, naive_frozen_missing = await run_naive(
        50, events, RATE, frozen=1, wait=5, pad=pad
    )
    with capsys.disabled():
        print(
            f"\noverlays: 50 healthy clients, {RATE} events/s for 3 s, "
            f"{pad // 1000} kB frames; healthy clients' latency"
        )
        print(f"  limelight, no frozen client : {describe(calm, calm_missing)}")
        print(
            f"  limelight, 1 frozen client  : {describe(frozen, frozen_missing)}"
            f"  (evicted {evicted}; p99 delta "
            f"{pct(frozen, 99) - pct(calm, 99):+.2f} ms, goal within 10 ms)"
        )
        print(f"  naive loop, no frozen client: {describe(naive_calm, naive_calm_missing)}")
        print(f"  naive loop, 1 frozen client : {describe(naive_frozen, naive_frozen_missing)}")
    _record(
        {
            "overlays.frozen.calm_p99_ms": (pct(calm, 99), pct(naive_calm, 99)),
            "overlays.frozen.frozen_p99_ms": (pct(frozen, 99), pct(calm, 99)),
            "overlays.frozen.not_delivered": (frozen_missing, naive_frozen_missing),
        }
    )


FLOOD_RATE = 5_000  # chat lines per second
FLOOD_FRAME = 10  # lines per WebSocket frame from Twitch (one socket read)


async def chat_flood(h: Any, seconds: float, rate: float = FLOOD_RATE) -> Callable[[], Any]:
    """A ``during`` for :func:`run_limelight`: Twitch PRIVMSG lines at ``rate`` through the
    whole chat pipeline (the Twitch connector's parse and mapping, dedupe, gating, command
    routing, the chat overlay's subscriber), in frames of ten lines as a socket read hands
    them over, each frame through the connector's frame-level entry point as its read loop
    does (``_irc_text``; before, each line took the older per-line coroutine). Returns the
    flood; it records the lines it sent in ``flood.sent``."""
    from limelight_twitch.config import TwitchConfig

    from .bench_chat import BenchTwitch, _frames, _lines, _read

    frames = _frames(_lines(int(rate * seconds) + FLOOD_FRAME))
    chat = h.services.chat
    conn = BenchTwitch(TwitchConfig(channel="streamer", eventsub=False))
    conn._sink = chat  # the read loop's path without a socket: frame -> lines -> events
    chat.connectors[conn.name] = conn

    async def flood() -> None:
        per_s = rate / FLOOD_FRAME
        t0 = time.monotonic()
        for n, frame in enumerate(frames):
            if n >= seconds * per_s:
                break
            delay = t0 + n / per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await _read(conn, frame)  # as the read loop hands over one received frame
            flood.sent += frame.count("\n")  # type: ignore[attr-defined]
        flood.took = time.monotonic() - t0  # type: ignore[attr-defined]

    flood.sent = 0  # type: ignore[attr-defined]
    flood.took = seconds  # type: ignore[attr-defined]
    return flood


async def bench_overlay_latency_under_chat_flood(tmp_path: Path, capsys: Any) -> None:
    """Goal (issue 16): event -> overlay frame p99 <= 50 ms at 10 clients and 200 events/s
    also while 5,000 chat lines a second go through the chat pipeline and the chat overlay
    (one page reading it). Same run: the same events without the flood, and a bare
    WebSocket broadcast."""
    events = int(RATE * SECONDS)
    chat_url = "/overlays/ws?token=test-overlay-token&overlay=chat"
    from .report import startup_heap_frozen

    with padded_alerts(PAD):
        async with limelight_server(tmp_path / "quiet") as h:
            with startup_heap_frozen():
                quiet, quiet_missing = await run_limelight(h, 10, events, RATE)
        async with limelight_server(tmp_path / "flood") as h:
            with startup_heap_frozen():
                chat_page = Clients(h.url(chat_url), 1, 10**9)
                await chat_page.start()
                chat_clients = list(h.services.overlays.channel("chat").clients)
                try:
                    flood = await chat_flood(h, SECONDS)
                    ours, missing = await run_limelight(h, 10, events, RATE, during=flood)
                    await h.settle(timeout=120)
                    chat_frames = sum(c.sent for c in chat_clients)
                    chat_evicted = [c.evicted for c in chat_clients if c.evicted]
                    shed = sum(lane.shed for lane in h.services.bus.lanes.values())
                finally:
                    await chat_page.kill()
    base, base_missing = await run_naive(10, events, RATE, pad=PAD)
    sent, took = flood.sent, flood.took  # type: ignore[attr-defined]
    with capsys.disabled():
        print(
            f"\noverlays: event accepted -> frame received, 10 clients, {RATE} events/s for "
            f"{SECONDS:g} s, under a chat flood of {FLOOD_RATE:,} msg/s (goal: p99 <= 50 ms)"
        )
        print(f"  limelight, chat flood: {describe(ours, missing)}")
        print(f"  limelight, quiet     : {describe(quiet, quiet_missing)}")
        print(
            f"  bare ws              : {describe(base, base_missing)}"
            f"  (flood p99 ratio {pct(ours, 99) / max(pct(base, 99), 1e-9):.1f}x)"
        )
        print(
            f"  chat flood           : {sent:,} lines in {took:.2f} s = {sent / took:,.0f} msg/s "
            f"(goal {FLOOD_RATE:,}); {chat_frames:,} frames sent to the chat page "
            f"({'evicted: ' + chat_evicted[0] if chat_evicted else 'kept up'}); shed {shed}"
        )
    _record(
        {
            "overlays.chat_flood.10_clients.p50_ms": (pct(ours, 50), pct(base, 50)),
            "overlays.chat_flood.10_clients.p99_ms": (pct(ours, 99), pct(base, 99)),
            "overlays.chat_flood.10_clients.quiet_p99_ms": (pct(quiet, 99), pct(base, 99)),
            "overlays.chat_flood.10_clients.not_delivered": (missing, base_missing),
        }
    )
    from .report import record

    record("overlays.chat_flood.chat_msg_per_s", sent / took, FLOOD_RATE, unit="msg/s")
    record("overlays.chat_flood.chat_page_frames", chat_frames, sent, unit="frames")
    record("overlays.chat_flood.shed", shed, unit="chat events")


NEVER_READING = 1000
STORM_SECONDS = 4.0


async def bench_never_reading_clients(tmp_path: Path, capsys: Any) -> None:
    """Goal (issue 16): 1,000 overlay pages that never read, each owed a full replay
    window (500 alerts of about 2.4 kB), cost the server at most 250 MB in all, and 10
    reading pages' p99 is unchanged. Same run, same server: the reading pages' latency
    without them, while they connect, and once all of them are connected and stuck.

    The server runs in this process (RSS is this process's, sampled every 50 ms); the
    pages that never read are opened by another process: raw sockets with a 4 kB receive
    buffer that complete the handshake and never call ``recv`` again."""
    from limelight import Raid, ViewerRef

    from ..core.procs import raise_open_files

    raise_open_files(NEVER_READING + 1024)
    events = int(RATE * STORM_SECONDS)
    from .report import rss_mb, startup_heap_frozen

    with padded_alerts(PAD):
        async with limelight_server(tmp_path / "storm") as h:
            with startup_heap_frozen():
                # A full replay window: more alerts than one reconnect replays, all young.
                viewer = ViewerRef("twitch", "bench", "Bench")
                for i in range(600):
                    await h.services.bus.publish(
                        Raid(
                            source="bench", source_id=f"fill-{i}", viewer=viewer, viewers=10**6 + i
                        )
                    )
                await h.settle(timeout=120)
                channel = h.services.overlays.channel("alerts")
                replay, _ = await h.services.overlays.outbox.replay("alerts", 0, limit=500)
                replay_bytes = sum(len(text.encode()) for text in replay)

                calm, calm_missing = await run_limelight(h, 10, events, RATE)
                await wait_gone(channel, 0)
                before = rss_mb()
                peak = before
                server = h.client.server
                path = "/overlays/ws?token=test-overlay-token&overlay=alerts&since=0"
                pages = NeverReading(server.host, server.port, path, NEVER_READING)

                async def sample() -> None:
                    nonlocal peak
                    while True:
                        peak = max(peak, rss_mb())
                        await asyncio.sleep(0.05)

                held = NeverReading(server.host, server.port, path, NEVER_READING)
                sampler = asyncio.create_task(sample())
                try:
                    # They connect while the events flow (every source after a restart or
                    # a network blip) ...
                    stormy, stormy_missing = await run_limelight(
                        h, 10, events, RATE, during=pages.open
                    )
                    # The server gives up on them after [overlays] send_timeout, or once their
                    # queue is full; until then each holds what its socket buffers took.
                    await wait_gone(channel, 0, timeout=h.settings.overlays.send_timeout + 30)
                    await pages.close()
                    # ... and they are all connected, stuck, when the events start.
                    await held.open()
                    stuck, stuck_missing = await run_limelight(h, 10, events, RATE)
                    await wait_gone(channel, 0, timeout=h.settings.overlays.send_timeout + 30)
                    after = rss_mb()
                finally:
                    sampler.cancel()
                    await asyncio.gather(sampler, return_exceptions=True)
                    await pages.close()
                    await held.close()
                evicted, connects = channel.evicted, channel.connects
    opened = pages.opened + held.opened
    with capsys.disabled():
        print(
            f"\noverlays: {NEVER_READING:,} pages that never read, each owed a replay of "
            f"{len(replay)} alerts ({replay_bytes / 1e6:.1f} MB; "
            f"{NEVER_READING * replay_bytes / 1e9:.1f} GB if copied per page), opened (in "
            f"{pages.took:.1f} s, by another process) while "
            f"10 reading pages get {RATE} events/s for {STORM_SECONDS:g} s"
        )
        # The server runs in this test process, which holds whatever the benchmarks before
        # this one left (~230 MB in a full `make bench`): what the pages cost is the growth.
        print(
            f"  server RSS                       : +{peak - before:.0f} MB for the pages "
            f"(goal: the server <= 250 MB in all; an idle `limelight run` is ~80 MB, "
            f"bench_startup_and_rss); this process {before:.0f} MB before, peak "
            f"{peak:.0f} MB, {after:.0f} MB after they were disconnected (evicted "
            f"{evicted:,} of {connects:,} connects)"
        )
        print(f"  reading pages, without them      : {describe(calm, calm_missing)}")
        print(
            f"  reading pages, while they connect: {describe(stormy, stormy_missing)}  (p99 "
            f"delta {pct(stormy, 99) - pct(calm, 99):+.2f} ms)"
        )
        print(
            f"  reading pages, once all are stuck: {describe(stuck, stuck_missing)}  (p99 delta "
            f"{pct(stuck, 99) - pct(calm, 99):+.2f} ms; opened in {held.took:.1f} s)"
        )
    from .report import record

    record("overlays.never_reading_1000.rss_peak_mb", peak, before, unit="MB")
    record("overlays.never_reading_1000.rss_growth_mb", peak - before, unit="MB")
    record("overlays.never_reading_1000.evicted", evicted, opened, unit="pages")
    _record(
        {
            "overlays.never_reading_1000.connecting_p50_ms": (pct(stormy, 50), pct(calm, 50)),
            "overlays.never_reading_1000.connecting_p99_ms": (pct(stormy, 99), pct(calm, 99)),
            "overlays.never_reading_1000.connecting_not_delivered": (stormy_missing, calm_missing),
            "overlays.never_reading_1000.held_p99_ms": (pct(stuck, 99), pct(calm, 99)),
            "overlays.never_reading_1000.held_not_delivered": (stuck_missing, calm_missing),
        }
    )


async def wait_gone(channel: Any, left: int, timeout: float = 30.0) -> None:
    """Until at most ``left`` pages are connected to ``channel`` (closed or evicted)."""
    from ..support import wait_until

    await wait_until(lambda: len(channel.clients) <= left, timeout=timeout, interval=0.1)


if __name__ == "__main__" and sys.argv[1] == "--never-read":
    asyncio.run(_never_reading_main(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])))
elif __name__ == "__main__":
    asyncio.run(
        _clients_main(
            sys.argv[1].replace("http://", "ws://"), int(sys.argv[2]), int(sys.argv[3]), 10.0
        )
    )
