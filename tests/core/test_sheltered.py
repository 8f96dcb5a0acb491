"""``eager.sheltered``: a delivery's commit finishes even when its request is cancelled.

It stands in for ``asyncio.shield`` on the webhook path, so it must keep shield's promise:
the coroutine runs to its end whatever happens to the task awaiting it, that task gets its
``CancelledError``, and results and errors reach it unchanged when nothing cancels it.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc

import pytest
from limelight import eager

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


async def test_the_result_or_the_error_reaches_the_caller() -> None:
    async def at_once() -> int:
        return 1

    async def after_waits(n: int) -> int:
        for _ in range(n):
            await asyncio.sleep(0)
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, n)
        return await future

    async def fails() -> None:
        await asyncio.sleep(0.001)
        raise ValueError("no")

    assert await eager.sheltered(at_once()) == 1
    assert await eager.sheltered(after_waits(3)) == 3
    with pytest.raises(ValueError, match="no"):
        await eager.sheltered(fails())


@pytest.mark.parametrize("bare_yield", [False, True])
async def test_a_cancelled_caller_leaves_the_coroutine_to_finish(bare_yield: bool) -> None:
    release = asyncio.Event()
    steps: list[str] = []

    async def commit() -> str:
        WHO.set("commit")
        steps.append("started")
        if bare_yield:
            while not release.is_set():  # noqa: ASYNC110 (bare yields are the case here)
                await asyncio.sleep(0)
        else:
            await release.wait()
        steps.append(f"finished as {WHO.get()}")
        return "done"

    async def request() -> str:
        return await eager.sheltered(commit())

    caller = asyncio.create_task(request())
    await asyncio.sleep(0.01)
    assert steps == ["started"]
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert steps == ["started"]  # not cut short: still waiting for what it waits on
    release.set()
    for _ in range(50):
        if len(steps) == 2:
            break
        await asyncio.sleep(0.001)
    assert steps == ["started", "finished as commit"]
    assert not eager._finishing  # its task ended and was let go


async def test_an_error_after_the_caller_left_is_not_reported_as_unretrieved() -> None:
    loop = asyncio.get_running_loop()
    reported: list[object] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    release = asyncio.Event()

    async def commit() -> None:
        await release.wait()
        raise RuntimeError("disk full")

    async def request() -> None:
        await eager.sheltered(commit())

    caller = asyncio.create_task(request())
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await asyncio.sleep(0.01)
    gc.collect()  # an unretrieved task error is reported when the task is collected
    assert reported == [] and not eager._finishing
