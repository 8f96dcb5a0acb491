"""Outbound chat: one queue per (connector, channel) that never breaks the platform's limits.

Why a queue and not a direct send: platforms silently drop (Twitch) or time out the bot for
messages over their rate limit, and a tip storm produces far more thanks than a channel may
carry. The queue therefore

* keeps a sliding window of send times and never sends more than the connector's
  :class:`RateLimit` allows in any window (Twitch: 20 per 30 s, 100 as moderator);
* sends by priority: ``money`` (thanks for money) before ``normal`` before ``low``;
* splits text longer than the platform's limit at word boundaries, sending the parts
  back to back;
* under pressure (the window is full or more is queued than it can carry) merges queued
  ``low`` messages into as few lines as fit, and drops ``low`` chatter that waited longer
  than ``low_ttl``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import Clock

if TYPE_CHECKING:
    from ..events import ChatMessage
    from .connector import ChatConnector

log = logging.getLogger("limelight.chat")

PRIORITIES = ("money", "normal", "low")
MERGE_SEPARATOR = " · "


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` messages in any ``window`` seconds."""

    count: int
    window: float


@dataclass(slots=True)
class Outgoing:
    """One message waiting to be sent (after splitting, one part of it)."""

    text: str
    channel: str
    priority: str = "normal"
    reply_to: ChatMessage | None = None
    queued_at: float = 0.0
    #: Parts of one long message share a group so nothing is sent between them.
    group: int = 0
    #: How many queued ``low`` messages were merged into this one.
    merged: int = 1
    #: Resolved with the platform's message id (or None) once sent; exception on failure.
    done: asyncio.Future[str | None] | None = field(default=None, repr=False)

    @property
    def reply_to_id(self) -> str | None:
        return self.reply_to.source_id if self.reply_to is not None else None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What the bot said, as the test kit's ``h.said`` and the dashboard show it."""

    text: str
    channel: str
    connector: str
    platform: str
    priority: str
    reply_to: ChatMessage | None = None
    message_id: str | None = None
    merged: int = 1

    @property
    def reply_to_id(self) -> str | None:
        return self.reply_to.source_id if self.reply_to is not None else None


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters, at spaces when possible."""
    text = " ".join(text.split())
    if limit <= 0 or len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:  # one word longer than the limit: cut it
            cut = limit
            parts.append(rest[:cut])
            rest = rest[cut:]
        else:
            parts.append(rest[:cut])
            rest = rest[cut + 1 :]
    if rest:
        parts.append(rest)
    return parts


class OutboundQueue:
    """The send queue of one channel on one connector; see the module docstring."""

    def __init__(
        self,
        connector: ChatConnector,
        channel: str,
        clock: Clock,
        on_sent: Callable[[SentMessage], None],
        *,
        low_ttl: float = 120.0,
        max_attempts: int = 3,
    ) -> None:
        self.connector = connector
        self.channel = channel
        self.clock = clock
        self.on_sent = on_sent
        self.low_ttl = low_ttl
        self.max_attempts = max_attempts
        self.lanes: dict[str, deque[Outgoing]] = {p: deque() for p in PRIORITIES}
        self.sent_times: deque[float] = deque()
        self.sent = 0
        self.merged = 0
        self.expired = 0
        self.failed = 0
        self._groups = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: True while the worker waits for a free slot in the rate window.
        self.throttled = False
        self._busy = False

    # -- queueing ---------------------------------------------------------------------------

    def put(
        self, text: str, *, priority: str = "normal", reply_to: ChatMessage | None = None
    ) -> list[Outgoing]:
        """Queue ``text`` (split if long); returns the queued parts."""
        if priority not in self.lanes:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
        parts = split_text(text, self.connector.max_length)
        if not parts:
            return []
        self._groups += 1
        now = self.clock.now()
        loop = asyncio.get_running_loop()
        queued = []
        for i, part in enumerate(parts):
            out = Outgoing(
                part,
                self.channel,
                priority,
                reply_to if i == 0 else None,
                now,
                self._groups,
                done=loop.create_future(),
            )
            # Nobody may be awaiting it; do not warn about an unretrieved exception.
            out.done.add_done_callback(_consume)  # type: ignore[union-attr]
            queued.append(out)
        self.lanes[priority].extend(queued)
        self._ensure_worker()
        self._wakeup.set()
        return queued

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self.lanes.values())

    @property
    def idle(self) -> bool:
        """Nothing to send right now: empty, or only waiting for the rate window."""
        return (not self._busy and self.pending == 0) or self.throttled

    def limit(self) -> RateLimit | None:
        return self.connector.rate_limit(self.channel)

    def free_slots(self) -> int:
        """How many messages may go out right now without breaking the limit."""
        limit = self.limit()
        if limit is None:
            return 1 << 30
        self._forget_old(limit)
        return max(0, limit.count - len(self.sent_times))

    def _forget_old(self, limit: RateLimit) -> None:
        horizon = self.clock.now() - limit.window
        times = self.sent_times
        while times and times[0] <= horizon:
            times.popleft()

    # -- the worker -------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(
                self._run(), name=f"chat-out:{self.connector.name}:{self.channel}"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for lane in self.lanes.values():
            for out in lane:
                if out.done is not None and not out.done.done():
                    out.done.cancel()
            lane.clear()

    async def _run(self) -> None:
        while True:
            if not self.pending:
                self._busy = False
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._busy = True
            # Wait for a slot *before* choosing: money queued meanwhile goes first.
            await self._wait_for_slot()
            batch = self._next()
            for i, out in enumerate(batch):
                if i:
                    await self._wait_for_slot()
                await self._send(out)

    def _next(self) -> list[Outgoing]:
        """The next message (or all parts of one long message) to send, by priority."""
        for priority in ("money", "normal"):
            lane = self.lanes[priority]
            if lane:
                group = lane[0].group
                batch = []
                while lane and lane[0].group == group:
                    batch.append(lane.popleft())
                return batch
        return self._next_low()

    def _next_low(self) -> list[Outgoing]:
        lane = self.lanes["low"]
        now = self.clock.now()
        while lane and now - lane[0].queued_at > self.low_ttl:
            out = lane.popleft()
            self.expired += 1
            _resolve(out, None)
        if not lane:
            return []
        under_pressure = len(lane) > 1 and (self.free_slots() < len(lane) + 1)
        first = lane.popleft()
        if not under_pressure:
            return [first]
        limit = self.connector.max_length
        text, absorbed = first.text, [first]
        while lane and len(text) + len(MERGE_SEPARATOR) + len(lane[0].text) <= limit:
            nxt = lane.popleft()
            text += MERGE_SEPARATOR + nxt.text
            absorbed.append(nxt)
        if len(absorbed) == 1:
            return [first]
        self.merged += len(absorbed) - 1
        merged = Outgoing(
            text,
            self.channel,
            "low",
            None,
            first.queued_at,
            first.group,
            merged=len(absorbed),
            done=first.done,
        )
        if first.done is not None:  # everyone merged into the line learns its id
            first.done.add_done_callback(functools.partial(_relay, absorbed[1:]))
        return [merged]

    async def _wait_for_slot(self) -> None:
        limit = self.limit()
        if limit is None:
            return
        while True:
            self._forget_old(limit)
            if len(self.sent_times) < limit.count:
                return
            wait = self.sent_times[0] + limit.window - self.clock.now()
            self.throttled = True
            try:
                await self.clock.sleep(max(wait, 0.0))
            finally:
                self.throttled = False
            limit = self.limit() or limit

    async def _send(self, out: Outgoing) -> None:
        attempt = 0
        while True:
            attempt += 1
            self.sent_times.append(self.clock.now())
            try:
                message_id = await self.connector.send(out)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt >= self.max_attempts:
                    self.failed += 1
                    log.error(
                        "chat %s: giving up sending to %s after %d attempts: %s",
                        self.connector.name,
                        self.channel,
                        attempt,
                        exc,
                    )
                    if out.done is not None and not out.done.done():
                        out.done.set_exception(exc)
                    return
                log.warning(
                    "chat %s: send to %s failed (%s); retrying",
                    self.connector.name,
                    self.channel,
                    exc,
                )
                self.throttled = True  # waiting on the clock, like a full window
                try:
                    await self.clock.sleep(float(attempt))
                finally:
                    self.throttled = False
                continue
            self.sent += 1
            self.on_sent(
                SentMessage(
                    text=out.text,
                    channel=out.channel,
                    connector=self.connector.name,
                    platform=self.connector.platform,
                    priority=out.priority,
                    reply_to=out.reply_to,
                    message_id=message_id,
                    merged=out.merged,
                )
            )
            _resolve(out, message_id)
            return

    def status(self) -> dict[str, Any]:
        limit = self.limit()
        return {
            "channel": self.channel,
            "queued": {p: len(q) for p, q in self.lanes.items()},
            "sent": self.sent,
            "merged": self.merged,
            "expired": self.expired,
            "failed": self.failed,
            "limit": f"{limit.count}/{limit.window:g}s" if limit else None,
            "throttled": self.throttled,
        }


def _consume(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


def _resolve(out: Outgoing, message_id: str | None) -> None:
    if out.done is not None and not out.done.done():
        out.done.set_result(message_id)


def _relay(outs: list[Outgoing], source: asyncio.Future[str | None]) -> None:
    for out in outs:
        if out.done is None or out.done.done():
            continue
        if source.cancelled():
            out.done.cancel()
        elif source.exception() is not None:
            out.done.set_exception(source.exception())  # type: ignore[arg-type]
        else:
            out.done.set_result(source.result())
