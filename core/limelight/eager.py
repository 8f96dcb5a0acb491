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


__all__ = ["Suspended", "step"]
