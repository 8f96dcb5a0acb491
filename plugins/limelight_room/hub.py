"""Open room connections, each with a bounded queue and its own writer.

Why a queue per client: a phone on a bad network must never slow the room down. Every
broadcast puts the (already serialised) message on each client's queue without waiting;
the client's writer task sends it with a timeout. A client whose queue is full, or whose
send times out, is disconnected (it reconnects and gets the history again); the others
never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from aiohttp import web
from limelight import ViewerRef

log = logging.getLogger("limelight.plugin.room")

#: Seconds one send may take before the client counts as frozen.
SEND_TIMEOUT = 10.0
#: WebSocket close codes the room page understands (4000-4999 are the application's).
CLOSE_ENDED = 4403  # the membership ended or the link was revoked: show the refusal
CLOSE_SLOW = 4408  # fell behind: reconnect
CLOSE_GOING_AWAY = 1001


class Client:
    """One open room page (a member may have several: phone and laptop)."""

    def __init__(self, ws: web.WebSocketResponse, viewer: ViewerRef, limit: int) -> None:
        self.ws = ws
        self.viewer = viewer
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=limit)
        self.writer: asyncio.Task[None] | None = None
        self.closed = False

    def offer(self, text: str) -> bool:
        """Queue ``text`` without waiting; False when the client is too far behind."""
        if self.closed:
            return True
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        if self.writer is not None:
            self.writer.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()[:120]), 5)


class Hub:
    """Every open room connection."""

    def __init__(self, queue_limit: int) -> None:
        self.queue_limit = queue_limit
        self.clients: set[Client] = set()
        self.evicted = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def open(self, ws: web.WebSocketResponse, viewer: ViewerRef) -> Client:
        client = Client(ws, viewer, self.queue_limit)
        client.writer = asyncio.create_task(self._write(client), name="room:writer")
        self.clients.add(client)
        return client

    def forget(self, client: Client) -> None:
        self.clients.discard(client)
        client.closed = True
        if client.writer is not None:
            client.writer.cancel()

    def viewers(self) -> list[ViewerRef]:
        seen: dict[tuple[str, str], ViewerRef] = {}
        for client in self.clients:
            seen.setdefault(client.viewer.key, client.viewer)
        return list(seen.values())

    def broadcast(self, text: str, only: Iterable[Client] | None = None) -> None:
        for client in list(self.clients if only is None else only):
            if not client.offer(text):
                self.evicted += 1
                log.info("room: %s fell behind; disconnecting that page", client.viewer.name)
                self._spawn(self._drop(client, CLOSE_SLOW, "too slow, reconnecting"))

    def send_to(self, viewer: ViewerRef, text: str) -> None:
        self.broadcast(text, [c for c in self.clients if c.viewer.key == viewer.key])

    async def close_viewer(self, viewer: ViewerRef, reason: str) -> int:
        """Close every page of ``viewer`` at once (membership ended, link revoked)."""
        doomed = [c for c in self.clients if c.viewer.key == viewer.key]
        await asyncio.gather(*(self._drop(c, CLOSE_ENDED, reason) for c in doomed))
        return len(doomed)

    async def close_all(self) -> None:
        await asyncio.gather(
            *(self._drop(c, CLOSE_GOING_AWAY, "server stopping") for c in list(self.clients))
        )
        for task in list(self._tasks):
            task.cancel()

    async def _drop(self, client: Client, code: int, reason: str) -> None:
        self.clients.discard(client)
        await client.close(code, reason)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, client: Client) -> None:
        try:
            while True:
                text = await client.queue.get()
                try:
                    # A timeout around the send, not wait_for: on Python 3.11 wait_for runs
                    # each send in a task of its own, one per page per line.
                    async with asyncio.timeout(SEND_TIMEOUT):
                        await client.ws.send_str(text)
                except (TimeoutError, ConnectionError, RuntimeError):
                    self.evicted += 1
                    self._spawn(self._drop(client, CLOSE_SLOW, "too slow, reconnecting"))
                    return
        except asyncio.CancelledError:
            pass


__all__ = ["CLOSE_ENDED", "CLOSE_SLOW", "Client", "Hub"]
