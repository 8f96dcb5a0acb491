"""Browser-source connections: one :class:`Client` per open overlay page.

Broadcasting never waits on a page. Each message is serialised once and *offered* to every
client; a client holds a bounded queue drained by its own writer task, and each send has a
timeout. A page that stops reading (OBS froze it, the machine slept) fills its queue or
times out and is evicted: its socket is aborted and it reconnects later with ``since=``,
so it loses nothing while the other pages never notice it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from ..web.auth import require_overlay
from ..web.errors import ApiError
from ..web.keys import SERVICES, SETTINGS

if TYPE_CHECKING:
    from asyncio import Transport


log = logging.getLogger("limelight.overlays")

#: Largest message a page may send (acks are tiny).
MAX_INCOMING = 4096
HEARTBEAT = 20.0
#: Bytes a page's connection may hold in this process before a send waits for the socket
#: to take them (aiohttp's default is 64 kB written between checks, on top of the
#: transport's own 64 kB): a thousand pages that stopped reading hold about 1,000 x 16 kB
#: here instead of 1,000 x 128 kB, and the rest of their queue stays shared texts.
WRITE_BUFFER = 16 * 1024
#: The kernel's send buffer of a page's socket (Linux doubles it). Left to autotune, a
#: local socket takes megabytes before it pushes back, so a page that never reads would be
#: sent (and the loop would spend time on) its whole replay and every live message until
#: the kernel is full: a thousand of them, a gigabyte of kernel memory and seconds of CPU.
#: This is a dozen alerts or more, above what a page that reads has in flight.
SEND_BUFFER = 32 * 1024
#: Messages one writer sends before it lets the other pages' writers run.
SEND_BATCH = 8


class Client:
    """One connected page: a bounded send queue, a writer task, eviction."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        overlay: str,
        *,
        queue_size: int,
        send_timeout: float,
        transport: Transport | None = None,
        remote: str = "",
        preview: bool = False,
    ) -> None:
        self.ws = ws
        #: A dashboard preview (``?preview=1``): not counted as a browser source, and its
        #: acks are ignored (a preview seeing an alert is not OBS showing it).
        self.preview = preview
        self.overlay = overlay
        self.queue_size = queue_size
        self.send_timeout = send_timeout
        self.transport = transport
        self.remote = remote
        self.queue: deque[str] = deque()
        self.sent = 0
        self.closed = False
        self.evicted = ""
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def offer(self, text: str) -> bool:
        """Queue ``text`` for this page without waiting; evicts the page when it is full."""
        if self.closed:
            return False
        if len(self.queue) >= self.queue_size:
            self.evict(f"send queue full ({self.queue_size} messages)")
            return False
        self.queue.append(text)
        self._wakeup.set()
        return True

    def prepend(self, texts: list[str]) -> None:
        """Put the greeting and the replay in front of live messages queued meanwhile.

        They count against the same bound: a page whose queue would overflow is evicted
        (the service sizes the replay to leave room, see ``OverlayService.connect``)."""
        if self.closed:
            return
        if len(self.queue) + len(texts) > self.queue_size:
            self.evict(f"send queue full ({self.queue_size} messages)")
            return
        self.queue.extendleft(reversed(texts))
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._write(), name=f"overlay-writer:{self.overlay}")

    async def _write(self) -> None:
        queue, ws = self.queue, self.ws
        while not self.closed:
            if not queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                # One timeout for a few sends: a send the socket takes at once does not
                # suspend, so the time is that of the one send that waits for the page.
                async with asyncio.timeout(self.send_timeout):
                    for _ in range(SEND_BATCH):
                        if not queue or self.closed:
                            break
                        await ws.send_str(queue.popleft())
                        self.sent += 1
            except TimeoutError:
                self.evict(f"a send took longer than {self.send_timeout:g} s")
                return
            except (ConnectionError, RuntimeError, OSError):
                self.closed = True
                return
            # Without this, a page being sent a long replay would hold the loop (and
            # /healthz, and the other pages) until all of it is written.
            await asyncio.sleep(0)

    def evict(self, reason: str) -> None:
        """Drop a page that stopped reading; it will reconnect and resume with ``since``."""
        if self.closed:
            return
        self.closed = True
        self.evicted = reason
        self.queue.clear()
        self._wakeup.set()
        log.warning(
            "overlay %s: disconnected a frozen browser source %s: %s",
            self.overlay,
            self.remote,
            reason,
        )
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    async def close(self, code: int = 1001, message: bytes = b"") -> None:
        """Close politely (server shutdown, a test cutting the line)."""
        self.closed = True
        self._wakeup.set()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.ws.close(code=code, message=message)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    async def stop(self) -> None:
        self.closed = True
        self._wakeup.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def bound_buffers(transport: Transport) -> None:
    """Cap what a page's connection may buffer, here and in the kernel (see
    ``WRITE_BUFFER`` and ``SEND_BUFFER``): a page that stops reading then blocks its
    writer within a few dozen messages, and is disconnected by ``send_timeout``."""
    transport.set_write_buffer_limits(high=WRITE_BUFFER)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)


def parse_since(raw: str | None) -> int | None:
    if raw is None or raw in ("", "null", "undefined"):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "since must be the integer id of the last alert shown") from None
    return value if value >= 0 else None


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """``/overlays/ws?token=...&overlay=<name>&since=<id>``: the page's live channel."""
    settings = request.app[SETTINGS]
    require_overlay(request, settings)
    service = request.app[SERVICES].overlays
    name = request.query.get("overlay", "")
    if service is None:
        raise ApiError(503, "the overlay service is not running")
    if not service.exists(name):
        raise ApiError(404, f"no overlay named {name!r}")
    since = parse_since(request.query.get("since"))
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT,
        compress=False,
        max_msg_size=MAX_INCOMING,
        writer_limit=WRITE_BUFFER,
    )
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "this URL is a WebSocket; open /overlays/<name> in OBS instead")
    if not service.admit(name):
        limit = settings.overlays.max_clients
        raise ApiError(
            429,
            f"overlay {name!r} already has {limit} pages connected ([overlays] max_clients); "
            "close one or raise the limit",
        )
    client: Client | None = None
    try:
        transport = request.transport
        await ws.prepare(request)
        if transport is not None:
            bound_buffers(transport)
        client = Client(
            ws,
            name,
            queue_size=settings.overlays.send_queue,
            send_timeout=settings.overlays.send_timeout,
            transport=transport,
            remote=request.remote or "",
            preview=request.query.get("preview") == "1",
        )
        await service.connect(client, since)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await service.receive(client, msg.data)
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        if client is None:
            service.release(name)
        else:
            await service.disconnect(client)
    return ws
