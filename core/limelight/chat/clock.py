"""Time for the chat service, injectable so rate limits are tested without real waiting.

The outbound queues and the timers only ever ask a :class:`Clock` for the time and for a
sleep. Production uses :class:`MonotonicClock`; tests use :class:`ManualClock` and move time
forward with :meth:`ManualClock.advance`, so "20 messages per 30 s" is checked exactly and
in microseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time


class Clock:
    """Monotonic seconds plus a sleep that honours them."""

    def now(self) -> float:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        raise NotImplementedError


class MonotonicClock(Clock):
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock(Clock):
    """A clock that only moves when told to; sleepers wake in deadline order."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    @property
    def sleeping(self) -> int:
        """How many tasks are waiting on this clock (tests wait for this to settle)."""
        return sum(1 for _, _, fut in self._sleepers if not fut.done())

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)
