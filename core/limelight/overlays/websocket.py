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
            text = queue.popleft()
            try:
                async with asyncio.timeout(self.send_timeout):
                    await ws.send_str(text)
            except TimeoutError:
                self.evict(f"a send took longer than {self.send_timeout:g} s")
                return
            except (ConnectionError, RuntimeError, OSError):
                self.closed = True
                return
            self.sent += 1
            # A send the socket takes at once does not suspend: without this, a page being
            # sent a long replay would hold the loop (and /healthz) until all is written.
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
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, compress=False, max_msg_size=MAX_INCOMING)
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
