"""Bounded resources under abuse, against a real ``limelight run``.

* A thousand overlay pages that never read, each reconnecting with a full replay window:
  the replay is serialised once and shared, so the server's memory stays bounded and
  ``/healthz`` keeps answering (figures: RSS before and peak, worst ``/healthz``).
* More pages than ``[overlays] max_clients`` on one overlay: refused with a 429 that says
  why, and a slot frees when a page leaves.
* Four concurrent gzip bombs to ``/webhooks/kofi``: refused with 415 unread, the loop never
  stalls (worst ``/healthz`` printed).
* 1,100 slowloris connections against a process limited to 256 open files: the header
  timeout and the connection cap keep ``/healthz`` answering, and the log stays small.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from limelight.testing import OVERLAY_TOKEN
from limelight_alerts import AlertsPlugin

from tests.core.procs import (
    HealthProbe,
    Server,
    child_limits,
    clean_env,
    memory_kb,
    raise_open_files,
    running_server,
)
from tests.faults.slowloris import Slowloris
from tests.support import wait_until

ADMIN = "faults-admin-token-1234"
OVERLAY = "faults-overlay-token-1234"
KOFI_TOKEN = "faults-kofi-verification-token"

pytestmark = pytest.mark.slow


def write_config(folder: Path, extra: str = "") -> Path:
    config = folder / "config.toml"
    config.write_text(
        f"""
[security]
admin_token = "{ADMIN}"
overlay_token = "{OVERLAY}"

[database]
url = "sqlite://{folder / "limelight.sqlite3"}"

[webhooks.kofi]
verification_token = "{KOFI_TOKEN}"

[plugins.tips]
thanks = false
{extra}
""",
        encoding="utf-8",
    )
    return config


def post_json(server: Server, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def overlay_status(server: Server, name: str = "alerts") -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.base}/api/overlays/{name}?limit=1", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


# -- a thousand frozen overlay pages ------------------------------------------------------------

PAGES = 1000
REPLAYED = 500  # the most a reconnect replays (half of the default send queue)
ALERT_PAD = 1000  # bytes of data per alert


async def frozen_page(port: int, since: int = 0) -> socket.socket:
    """An overlay page that completes the WebSocket handshake and then never reads
    (a tiny receive buffer, so the server's sends back up at once)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /overlays/ws?token={OVERLAY}&overlay=alerts&since={since} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await loop.sock_recv(sock, 1024)
        assert chunk, "the server closed the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head[:200]
    return sock


async def add_alerts(base: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        queue = list(range(count))

        async def sender() -> None:
            while queue:
                i = queue.pop()
                body = {"kind": "raid", "data": {"name": f"raider {i}", "viewers": i}}
                body["data"]["pad"] = "x" * ALERT_PAD  # type: ignore[index]
                async with session.post(base + "/api/overlays/alerts/alerts", json=body) as r:
                    assert r.status == 201, await r.text()

        await asyncio.gather(*(sender() for _ in range(6)))


async def test_a_thousand_frozen_pages_with_a_full_replay_share_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raise_open_files(PAGES + 512)
    config = write_config(
        tmp_path,
        f"""
[server]
max_connections = {PAGES + 500}

[overlays]
max_clients = {PAGES + 100}
send_timeout = 2.0
""",
    )
    env = clean_env(LIMELIGHT_PLUGINS="alerts,tips")
    limits = child_limits(RLIMIT_NOFILE=PAGES + 1024)
    with running_server(config, tmp_path, env=env, preexec_fn=limits) as server:
        await add_alerts(server.base, REPLAYED)
        pid = server.process.pid
        before = memory_kb(pid)
        pages: list[socket.socket] = []
        started = time.monotonic()
        with HealthProbe(server.base) as probe:
            try:
                gate = asyncio.Semaphore(50)

                async def open_one() -> None:
                    async with gate:
                        pages.append(await frozen_page(server.port))

                await asyncio.gather(*(open_one() for _ in range(PAGES)))

                # Every page got its greeting and the replay queued; wait until all of it
                # is handed to the sockets (or the page was disconnected as frozen).
                async def handed_over() -> bool:
                    return not (await asyncio.to_thread(overlay_status, server))["queued"]

                await wait_until(handed_over, timeout=120, interval=0.5)
            finally:
                for sock in pages:
                    sock.close()
        took = time.monotonic() - started
        after = memory_kb(pid)
        status = await asyncio.to_thread(overlay_status, server)
        assert server.stop() == 0
    per_page = REPLAYED * (ALERT_PAD + 200)
    with capsys.disabled():
        print(
            f"\n[faults] {PAGES} frozen overlay pages, replay of {REPLAYED} alerts "
            f"(~{per_page / 1e6:.1f} MB each if copied, ~{PAGES * per_page / 1e9:.1f} GB "
            f"for all): RSS {before['VmRSS'] / 1024:.0f} MB before, peak "
            f"{after['VmHWM'] / 1024:.0f} MB (goal <= 250 MB); /healthz worst "
            f"{probe.worst * 1000:.0f} ms over {len(probe.results)} probes; every replay "
            f"handed over in {took:.1f} s (connects {status['connects']}, evicted as frozen "
            f"{status['evicted']}, refused {status['refused']})"
        )
    assert probe.statuses() == {200}, probe.errors[:5]
    assert len(pages) == PAGES
    # Copies per page would need PAGES * per_page (about 2 GB) on top of the baseline.
    grown_mb = (after["VmHWM"] - before["VmRSS"]) / 1024
    assert grown_mb < 150, f"RSS grew by {grown_mb:.0f} MB for {PAGES} pages"
    assert status["connects"] == PAGES and status["refused"] == 0


async def test_pages_over_max_clients_are_refused_with_a_reason(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin}, config={"overlays": {"max_clients": 3}})
    url = f"/overlays/ws?token={OVERLAY_TOKEN}&overlay=alerts"
    pages = [await h.client.ws_connect(url) for _ in range(3)]
    for ws in pages:
        assert (await asyncio.wait_for(ws.receive_json(), 5))["type"] == "hello"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await h.client.ws_connect(url)
    assert refused.value.status == 429
    channel = h.services.overlays.channel("alerts")
    assert channel.refused >= 1 and len(channel.clients) == 3
    response = await h.client.get(
        url,
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Version": "13",
        },
    )
    assert response.status == 429
    assert "already has 3 pages connected ([overlays] max_clients)" in await response.text()
    await pages[0].close()
    await wait_until(lambda: len(channel.clients) == 2)
    again = await h.client.ws_connect(url)
    assert (await asyncio.wait_for(again.receive_json(), 5))["type"] == "hello"
    for ws in (*pages[1:], again):
        await ws.close()


class StuckSocket:
    """A WebSocketResponse stand-in whose sends never complete (a page that stopped
    reading), so everything after the first message stays in the page's queue."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def send_str(self, text: str) -> None:
        await self.release.wait()

    async def close(self, **_: Any) -> None:
        self.release.set()


async def test_a_replay_is_one_shared_text_within_the_queue_bound(limelight) -> None:
    from limelight.overlays.websocket import Client

    h = await limelight(plugins={"alerts": AlertsPlugin})
    overlays = h.services.overlays
    ids = [
        await overlays.alert("alerts", kind="raid", data={"name": f"r{i}", "viewers": i})
        for i in range(30)
    ]
    pages = [
        Client(StuckSocket(), "alerts", queue_size=20, send_timeout=60)  # type: ignore[arg-type]
        for _ in range(2)
    ]
    try:
        for page in pages:
            overlays.admit("alerts")
            await overlays.connect(page, since=0)
            await wait_until(lambda p=page: len(p.queue) == 10)  # the greeting is on the wire
        first, second = (list(page.queue) for page in pages)
        # Half the bound holds the newest alerts, one shared text each.
        assert [json.loads(t)["id"] for t in first] == ids[-10:]
        assert len(first) == len(second) == 10
        assert all(a is b for a, b in zip(first, second, strict=True)), "copied per page"
        # Live alerts are the same shared text too, and count against the same bound.
        await overlays.alert("alerts", kind="raid", data={"name": "live", "viewers": 1})
        assert pages[0].queue[-1] is pages[1].queue[-1]
    finally:
        for page in pages:
            await overlays.disconnect(page)


# -- gzip bombs ---------------------------------------------------------------------------------

BOMB_INFLATED = 1 << 30  # 1 GiB of zeros, about 1 MB on the wire


def gzip_bomb() -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    zeros = bytes(1 << 20)
    parts = [deflate.compress(zeros) for _ in range(BOMB_INFLATED >> 20)]
    parts.append(deflate.flush())
    return b"".join(parts)


async def test_gzip_bombs_are_refused_unread_and_the_loop_keeps_answering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = await asyncio.to_thread(gzip_bomb)
    config = write_config(tmp_path)
    env = clean_env(LIMELIGHT_PLUGINS="alerts,tips")
    answers: list[tuple[int, str, float]] = []
    with running_server(config, tmp_path, env=env) as server:
        with HealthProbe(server.base, every=0.05) as probe:
            async with aiohttp.ClientSession() as session:

                async def send(encoding: str) -> None:
                    started = time.monotonic()
                    async with session.post(
                        server.base + "/webhooks/kofi",
                        data=bomb,
                        headers={
                            "Content-Type": "application/x-www-form-urlencoded",
                            "Content-Encoding": encoding,
                        },
                    ) as response:
                        text = await response.text()
                        answers.append((response.status, text, time.monotonic() - started))

                seen = len(probe.results)
                await asyncio.gather(*(send(e) for e in ("gzip", "gzip", "deflate", "br")))
                # (and the server is still answering while it drops the unread bodies)
                await wait_until(lambda: len(probe.results) >= seen + 10, timeout=30)
                # A delivery sent as providers send it (uncompressed) is still read.
                body = "data=" + json.dumps({"verification_token": "wrong"})
                async with session.post(
                    server.base + "/webhooks/kofi",
                    data=body.encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                ) as plain:
                    plain_status = plain.status
        assert server.stop() == 0
    with capsys.disabled():
        print(
            f"\n[faults] 4 compressed bombs ({len(bomb) / 1e6:.1f} MB each on the wire, "
            f"{BOMB_INFLATED >> 30} GiB inflated): answers "
            f"{sorted(status for status, _, _ in answers)} in at most "
            f"{max(t for _, _, t in answers) * 1000:.0f} ms; /healthz worst "
            f"{probe.worst * 1000:.0f} ms over {len(probe.results)} probes"
        )
    assert [status for status, _, _ in answers] == [415] * 4
    assert all("compressed request bodies are not accepted" in text for _, text, _ in answers)
    assert probe.statuses() == {200}, probe.errors[:5]
    assert plain_status in (400, 401, 403)  # read and judged, not refused unread
    assert plain_status in (400, 401, 403)  # read and judged, not refused unread


# -- slowloris against a low descriptor limit ---------------------------------------------------

SLOW = 1100
CHILD_FILES = 256  # the child's RLIMIT_NOFILE: far fewer than the slow connections
HEADER_TIMEOUT = 2.0


def slow_head_cut_after(port: int) -> float:
    """Send a request head one header line a second, never ending it; the seconds until
    the server closes the connection."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        while time.monotonic() - started < 30:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                if not sock.recv(1):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    return time.monotonic() - started


async def test_slowloris_with_few_descriptors_keeps_healthz_answering_and_the_log_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = raise_open_files(SLOW + 256)
    count = min(SLOW, files - 128)
    config = write_config(tmp_path, f"[server]\nheader_timeout = {HEADER_TIMEOUT}\n")
    env = clean_env(LIMELIGHT_PLUGINS="alerts,tips")
    limits = child_limits(RLIMIT_NOFILE=CHILD_FILES)
    with running_server(config, tmp_path, env=env, preexec_fn=limits) as server:
        # One slow client alone: cut once header_timeout has passed without a whole head.
        cut_after = await asyncio.to_thread(slow_head_cut_after, server.port)
        assert server.get("/healthz")[1]["connections"]["header_timeouts"] == 1
        with Slowloris(server.port, count) as loris, HealthProbe(server.base, every=0.1) as probe:
            # Long enough for every slow connection to be opened, cut by the header
            # timeout or the cap, and opened again.
            await wait_until(
                lambda: loris.opened >= 2 * count and len(probe.results) >= 5,
                timeout=120,
                interval=0.1,
            )
        guard = server.get("/healthz")[1]["connections"]
        assert server.stop() == 0
        log = server.output()
    with capsys.disabled():
        print(
            f"\n[faults] one slow request head cut after {cut_after:.1f} s "
            f"(header_timeout {HEADER_TIMEOUT:g} s)"
        )
        print(
            f"[faults] slowloris: {count} slow connections against RLIMIT_NOFILE "
            f"{CHILD_FILES} ({loris.opened} opened, {loris.closed_by_server} cut by the "
            f"server, {loris.refused} not accepted); /healthz {len(probe.results)} probes, "
            f"statuses {sorted(probe.statuses())}, worst {probe.worst * 1000:.0f} ms, "
            f"{sum(seconds > 0.9 for _, seconds in probe.results)} waited for a connect "
            f"retry; "
            f"log {len(log.encode())} bytes; server: cap {guard['cap']}, "
            f"{guard['header_timeouts']} header timeouts, {guard['replaced']} replaced at the "
            f"cap, {guard['held']} times held"
        )
    assert HEADER_TIMEOUT <= cut_after < 30
    assert probe.statuses() == {200}, probe.errors[:5]
    assert loris.closed_by_server > 0
    assert guard["cap"] < CHILD_FILES and guard["header_timeouts"] + guard["replaced"] > 0
    assert "Traceback" not in log
    assert len(log.encode()) < 64 * 1024, log[-4000:]
