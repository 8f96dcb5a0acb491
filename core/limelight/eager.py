"""Run a hook's coroutine up to its first wait now; await the rest only when there is one.

Why: most implementations of a per-line hook (a chat gating check) answer without ever
waiting. Awaiting each call inside ``asyncio.timeout()`` costs a timer handle, a context
manager and a coroutine per chat line, several times what such a call does. Stepping the
coroutine once by hand (``coro.send(None)``, as an asyncio task would) tells the two
kinds apart: one that finished has its value at once; one that suspended is handed back
as an awaitable that goes on where it stopped, for the caller to await under the
timeout exactly as before. Code before a coroutine's first ``await`` could never be cut
short by a timeout anyway (asyncio interrupts only at a wait), so nothing is lost.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine, Generator
from typing import Any


class Suspended:
    """A coroutine stopped at its first wait, resumed by awaiting this.

    It forwards what the coroutine yields (the future it waits on) to the task awaiting
    this, and what the task sends or throws (a result, a cancellation from a timeout)
    back into the coroutine, the way ``await coro`` would have from the start."""

    __slots__ = ("_coro", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, to_yield = self._coro, self._yielded
        self._yielded = None
        while True:
            try:
                sent = yield to_yield
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation (the timeout) goes to the coroutine
                try:
                    to_yield = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    to_yield = coro.send(sent)
                except StopIteration as done:
                    return done.value


def step(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run ``coro`` until it finishes or first waits: ``(True, its value)``, or
    ``(False, a Suspended to await)``. An exception it raises propagates."""
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        return True, done.value
    return False, Suspended(coro, yielded)


class Sheltered:
    """Await a coroutine in the awaiting task, out of reach of that task's cancellation.

    What ``await asyncio.shield(coro)`` gives: if the awaiting task is cancelled, the
    coroutine still runs to its end and the task gets its ``CancelledError``. Why not
    ``shield``: it runs the coroutine in a task of its own and passes the result through two
    futures, a task and two extra turns of the loop for every webhook delivery. This steps
    the coroutine in the caller's task, the way the task itself would, and hands the task
    a stand-in for each future the coroutine waits on: a cancellation cancels the stand-in,
    never the future the coroutine waits on, and only then is a task made, to finish the
    coroutine from where it stopped.
    """

    __slots__ = ("_coro",)

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self._coro
        while True:
            try:
                waited = coro.send(None)
            except StopIteration as done:
                return done.value
            if waited is None:  # a bare yield (``asyncio.sleep(0)``): one turn of the loop
                try:
                    yield None
                except asyncio.CancelledError:
                    _finish_in_task(coro, None)
                    raise
                continue
            if not isinstance(waited, asyncio.Future):  # not asyncio's protocol: as is
                yield waited
                continue
            # What a task does with the future a coroutine waits on, with a stand-in
            # between: the task waits on the stand-in, which the future completes.
            waited._asyncio_future_blocking = False
            stand_in = waited.get_loop().create_future()
            waited.add_done_callback(functools.partial(_complete, stand_in))
            stand_in._asyncio_future_blocking = True
            try:
                yield stand_in
            except asyncio.CancelledError:
                _finish_in_task(coro, waited)
                raise


def _complete(stand_in: asyncio.Future[None], waited: asyncio.Future[Any]) -> None:
    if not stand_in.done():
        stand_in.set_result(None)


#: Coroutines finishing in a task of their own after their caller was cancelled (kept
#: referenced until they end: the loop holds tasks only weakly).
_finishing: set[asyncio.Task[Any]] = set()


def _finish_in_task(coro: Coroutine[Any, Any, Any], waited: asyncio.Future[Any] | None) -> None:
    """Run the rest of ``coro``, which waits on ``waited`` (or gave up one turn of the
    loop), in a new task; its outcome is dropped, as ``shield`` drops it for a cancelled
    caller (an error is still logged by whatever the coroutine itself logs)."""
    if waited is not None:
        waited._asyncio_future_blocking = True
    task: asyncio.Task[Any] = asyncio.ensure_future(_rest(Suspended(coro, waited)))
    _finishing.add(task)
    task.add_done_callback(_finished)


async def _rest(suspended: Suspended) -> Any:
    return await suspended


def _finished(task: asyncio.Task[Any]) -> None:
    _finishing.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: nobody awaits it any more


def sheltered(coro: Coroutine[Any, Any, Any]) -> Sheltered:
    """``await sheltered(coro)``: see :class:`Sheltered`."""
    return Sheltered(coro)


__all__ = ["Sheltered", "Suspended", "sheltered", "step"]
