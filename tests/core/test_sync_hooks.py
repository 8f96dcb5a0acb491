"""Plain ``def`` hooks run on their plugin's worker thread: in order, isolated, batched.

Why these matter: a plugin author who writes ``def on_event`` must never be able to freeze
the server (the event loop keeps running whatever the hook does), and must not pay for
that safety in throughput or ordering.
"""

from __future__ import annotations

import asyncio
import threading
import time

from limelight import Event, Plugin, hookimpl
from limelight.testing import make_chat, make_tip

from tests.support import wait_until


class ThreadWatcher(Plugin):
    """Records which thread each event reached it on, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.threads: set[int] = set()

    @hookimpl
    def on_event(self, event: Event) -> None:
        self.threads.add(threading.get_ident())
        self.seen.append(event.source_id)


class FailsOn(Plugin):
    """Raises on one source id, handles the rest."""

    def __init__(self, bad: str) -> None:
        super().__init__()
        self.bad = bad
        self.seen: list[str] = []

    @hookimpl
    def on_event(self, event: Event) -> None:
        if event.source_id == self.bad:
            raise RuntimeError("boom")
        self.seen.append(event.source_id)


class Slow(Plugin):
    """Each call takes a while; a whole lane's worth takes longer than one timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.seen: list[str] = []

    @hookimpl
    def on_event(self, event: Event) -> None:
        time.sleep(self.seconds)
        self.seen.append(event.source_id)


async def test_plain_def_hooks_run_off_the_loop_thread_in_arrival_order(limelight) -> None:
    watcher = ThreadWatcher()
    h = await limelight(plugins={"watcher": watcher})
    lines = [make_chat(f"line {i}") for i in range(300)]
    for line in lines:
        await h.publish(line, settle=False)
    await h.settle()
    assert watcher.seen == [line.source_id for line in lines]
    assert threading.get_ident() not in watcher.threads


async def test_one_failing_call_fails_alone_and_is_counted(limelight) -> None:
    lines = [make_chat(f"line {i}") for i in range(5)]
    plugin = FailsOn(lines[2].source_id)
    h = await limelight(plugins={"flaky": plugin})
    for line in lines:
        await h.publish(line, settle=False)
    await h.settle()
    assert plugin.seen == [line.source_id for i, line in enumerate(lines) if i != 2]
    stats = h.host.info["flaky"].stats["on_event"]
    assert stats.errors == 1
    assert "boom" in stats.last_error
    assert h.host.info["flaky"].status == "enabled"


async def test_a_long_batch_of_slow_calls_is_handed_back_in_parts_not_timed_out(
    limelight,
) -> None:
    # 20 calls of 50 ms are 1 s of work against a 0.4 s timeout: the worker hands back
    # what it finished after half the timeout and the rest goes back into the lane.
    slow = Slow(0.05)
    h = await limelight(plugins={"slow": slow}, config={"plugins": {"hook_timeout": 0.4}})
    lines = [make_chat(f"line {i}") for i in range(20)]
    for line in lines:
        await h.publish(line, settle=False)
    await h.settle(timeout=10)
    assert slow.seen == [line.source_id for line in lines]
    stats = h.host.info["slow"].stats["on_event"]
    assert stats.timeouts == 0
    assert stats.calls == 20
    assert h.host.info["slow"].status == "enabled"


async def test_a_money_event_a_plain_def_hook_failed_on_stays_unhandled(limelight) -> None:
    tip = make_tip(source="kofi", source_id="sync-fail-1")
    plugin = FailsOn(tip.source_id)
    h = await limelight(plugins={"flaky": plugin})
    await h.publish(tip)
    await h.publish(make_tip(source="kofi", source_id="sync-ok-1"))
    await h.services.bus.flush()
    from limelight.models import EventRecord

    handled = dict(await EventRecord.filter(source="kofi").values_list("source_id", "handled"))
    assert handled == {"sync-fail-1": False, "sync-ok-1": True}


class HangsAndCleansUp(Plugin):
    """An async on_event that never returns; its shutdown records that it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped = False

    @hookimpl
    async def on_event(self, event: Event) -> None:
        await asyncio.Event().wait()

    @hookimpl
    async def shutdown(self) -> None:
        self.stopped = True


async def test_a_plugin_disabled_at_run_time_gets_its_shutdown(limelight) -> None:
    plugin = HangsAndCleansUp()
    h = await limelight(
        plugins={"hangs": plugin},
        config={"plugins": {"hook_timeout": 0.1, "max_timeouts": 2}},
    )
    for i in range(2):
        await h.publish(make_chat(f"line {i}"), settle=False)
    await h.settle(timeout=5)
    info = h.host.info["hangs"]
    assert info.status == "failed"
    assert "on_event timed out 2 times in a row" in info.reason
    await wait_until(lambda: plugin.stopped)
