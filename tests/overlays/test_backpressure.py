"""A frozen browser source is evicted and never slows the others."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from typing import Any

from limelight.overlays.websocket import Client
from limelight.testing import OVERLAY_TOKEN
from limelight_alerts import AlertsPlugin

from ..support import wait_until
from .test_delivery import connect, receive


class StuckSocket:
    """A WebSocketResponse stand-in whose sends never complete (the peer stopped reading)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.release = asyncio.Event()

    async def send_str(self, text: str) -> None:
        self.sent.append(text)
        await self.release.wait()

    async def close(self, **_: Any) -> None:
        return None


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


async def test_a_send_that_times_out_evicts_the_client() -> None:
    transport = FakeTransport()
    client = Client(
        StuckSocket(),
        "alerts",
        queue_size=10,
        send_timeout=0.05,  # type: ignore[arg-type]
        transport=transport,
    )  # type: ignore[arg-type]
    client.start()
    assert client.offer("one")
    await wait_until(lambda: client.closed)
    assert "longer than" in client.evicted and transport.aborted
    assert not client.offer("two")
    await client.stop()


async def test_a_full_queue_evicts_the_client_without_waiting() -> None:
    transport = FakeTransport()
    client = Client(
        StuckSocket(),
        "alerts",
        queue_size=4,
        send_timeout=60,  # type: ignore[arg-type]
        transport=transport,
    )  # type: ignore[arg-type]
    for i in range(4):
        assert client.offer(str(i))
    assert not client.offer("overflow")
    assert "queue full" in client.evicted and transport.aborted and not client.queue
    await client.stop()


async def frozen_page(host: str, port: int) -> socket.socket:
    """Open an overlay WebSocket by hand, read the handshake answer, then never read again
    (a tiny receive buffer, so the server's sends back up quickly)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /overlays/ws?token={OVERLAY_TOKEN}&overlay=alerts HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += await loop.sock_recv(sock, 1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


async def read_ids(ws: Any, count: int) -> list[int]:
    return [(await receive(ws, timeout=30))["id"] for _ in range(count)]


async def test_one_frozen_page_does_not_hold_up_the_others(limelight) -> None:
    h = await limelight(
        plugins={"alerts": AlertsPlugin},
        config={"overlays": {"send_queue": 16, "send_timeout": 0.5}},
    )
    overlays = h.services.overlays
    server = h.client.server
    frozen = await frozen_page(server.host, server.port)
    try:
        healthy = [await connect(h) for _ in range(3)]
        channel = overlays.channel("alerts")
        await wait_until(lambda: len(channel.clients) == 4)
        # More than any kernel buffer holds, so the frozen page's sends back up.
        padding = "x" * 60_000
        count = 200
        readers = [asyncio.create_task(read_ids(ws, count)) for ws, _, _ in healthy]
        ids = []
        for i in range(count):
            ids.append(
                await overlays.alert(
                    "alerts", kind="raid", data={"name": f"r{i}", "viewers": i, "pad": padding}
                )
            )
        for reader in readers:
            assert await reader == ids
        await wait_until(lambda: channel.evicted == 1 and len(channel.clients) == 3)
        for ws, _, _ in healthy:
            await ws.close()
    finally:
        frozen.close()
