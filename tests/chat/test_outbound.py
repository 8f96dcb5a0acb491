"""Send queues under a controllable clock: limits, priorities, splitting, merging."""

from __future__ import annotations

import asyncio

import pytest
from limelight.chat import ChatConnector, ManualClock, OutboundQueue, RateLimit, split_text


class Recording(ChatConnector):
    """A connector that records (clock time, text) and can fail on demand."""

    name = "rec"
    platform = "rec"

    def __init__(
        self,
        clock: ManualClock,
        limit: RateLimit | None = RateLimit(20, 30.0),
        max_length: int = 500,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.max_length = max_length
        self.sent: list[tuple[float, str]] = []
        self.fail = 0

    def rate_limit(self, channel: str) -> RateLimit | None:
        return self.limit

    async def send(self, message) -> str:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("boom")
        self.sent.append((self.clock.now(), message.text))
        return f"id-{len(self.sent)}"


async def settle(queue: OutboundQueue) -> None:
    """Let the worker run until it is idle or waiting for the clock (no wall-clock wait)."""
    for _ in range(10_000):
        await asyncio.sleep(0)
        if queue.idle:
            await asyncio.sleep(0)
            if queue.idle:
                return
    raise AssertionError("queue never settled")


def make(limit: RateLimit | None = RateLimit(20, 30.0), **kw):
    clock = ManualClock()
    conn = Recording(clock, limit, **kw)
    sent = []
    queue = OutboundQueue(conn, "chan", clock, sent.append)
    return clock, conn, queue, sent


async def test_never_more_than_twenty_in_any_thirty_seconds():
    clock, conn, queue, _ = make()
    for i in range(45):
        queue.put(f"m{i}")
    await settle(queue)
    assert len(conn.sent) == 20 and queue.throttled
    clock.advance(29.9)
    await settle(queue)
    assert len(conn.sent) == 20
    clock.advance(0.1)
    await settle(queue)
    assert len(conn.sent) == 40
    clock.advance(30)
    await settle(queue)
    assert [t for _, t in conn.sent] == [f"m{i}" for i in range(45)]
    times = [t for t, _ in conn.sent]
    for i in range(len(times)):
        window = [t for t in times if times[i] <= t < times[i] + 30]
        assert len(window) <= 20


async def test_moderator_limit_is_one_hundred():
    clock, conn, queue, _ = make(RateLimit(100, 30.0))
    for i in range(150):
        queue.put(f"m{i}")
    await settle(queue)
    assert len(conn.sent) == 100
    clock.advance(30)
    await settle(queue)
    assert len(conn.sent) == 150


async def test_limit_change_is_picked_up_while_waiting():
    clock, conn, queue, _ = make()
    for i in range(30):
        queue.put(f"m{i}")
    await settle(queue)
    assert len(conn.sent) == 20
    conn.limit = RateLimit(100, 30.0)  # the bot was just made a moderator
    clock.advance(0.001)
    await settle(queue)
    clock.advance(30)
    await settle(queue)
    assert len(conn.sent) == 30


async def test_money_thanks_jump_the_queue():
    clock, conn, queue, _ = make()
    for i in range(25):
        queue.put(f"chatter {i}")
    await settle(queue)
    queue.put("thanks for the 5.00 USD, alice!", priority="money")
    clock.advance(30)
    await settle(queue)
    assert conn.sent[20][1] == "thanks for the 5.00 USD, alice!"


async def test_long_text_is_split_and_parts_stay_together():
    _clock, conn, queue, _records = make(max_length=50)
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    parts = queue.put(text, priority="normal")
    queue.put("money!", priority="money")
    await settle(queue)
    assert len(parts) == 2 and all(len(p.text) <= 50 for p in parts)
    texts = [t for _, t in conn.sent]
    assert " ".join(texts[texts.index(parts[0].text) :][:2]) == text


def test_split_text_edges():
    assert split_text("", 10) == []
    assert split_text("short", 10) == ["short"]
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]
    assert split_text("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_text("  spaced   out  ", 100) == ["spaced out"]


async def test_low_messages_merge_under_pressure():
    clock, conn, queue, records = make(RateLimit(2, 30.0))
    queue.put("first")
    queue.put("second")
    parts = [queue.put(f"welcome viewer{i}", priority="low")[0] for i in range(5)]
    await settle(queue)
    assert [t for _, t in conn.sent] == ["first", "second"]
    clock.advance(30)
    await settle(queue)
    merged = conn.sent[2][1]
    assert merged == " · ".join(f"welcome viewer{i}" for i in range(5))
    assert records[-1].merged == 5 and queue.merged == 4
    assert {await p.done for p in parts} == {"id-3"}


async def test_low_messages_are_not_merged_without_pressure():
    _clock, conn, queue, _ = make(None)
    for i in range(3):
        queue.put(f"hi {i}", priority="low")
    await settle(queue)
    assert [t for _, t in conn.sent] == ["hi 0", "hi 1", "hi 2"]


async def test_stale_low_chatter_is_dropped():
    clock, conn, queue, _ = make(RateLimit(1, 30.0))
    queue.put("now")
    queue.put("old news", priority="low")
    await settle(queue)
    clock.advance(200)
    await settle(queue)
    assert [t for _, t in conn.sent] == ["now"] and queue.expired == 1


async def test_failed_send_is_retried_then_given_up():
    clock, conn, queue, _ = make(None)
    conn.fail = 1
    [part] = queue.put("retry me")
    await settle(queue)
    clock.advance(1)
    await settle(queue)
    assert await part.done == "id-1"
    conn.fail = 5
    [lost] = queue.put("never")
    for _ in range(5):
        await settle(queue)
        clock.advance(5)
    with pytest.raises(ConnectionError):
        await lost.done
    assert queue.failed == 1


async def test_unknown_priority_is_refused():
    _, _, queue, _ = make()
    with pytest.raises(ValueError):
        queue.put("x", priority="urgent")
