"""Group commit: the events of concurrent publishers go to disk in one transaction.

Why: a durable commit costs one flush to disk (SQLite's WAL with ``synchronous=FULL``,
PostgreSQL's WAL flush), a few milliseconds on ordinary disks. One commit per webhook
would cap a server at a few hundred tips a second however fast the rest of it is. The
writer here takes every event that is waiting when it becomes free, writes them (and what
plugins write with them, see :class:`Transaction`) in one transaction, commits once, and
only then answers each publisher. Each delivery still gets its 2xx only after its own rows
are on disk. Idle, a batch is one event long and nothing waits for a timer; under load the
batches grow by themselves, which is what keeps the latency flat.

A batch that fails as a whole (the database is down, one event cannot be stored) is
tried again one event at a time, so one bad event fails alone and the rest still commit;
the bus then tells its publisher whether that failure passes (503) or is the event's own
(422, quarantined). A plugin that fails inside a batch does not fail the batch: its
savepoint rolls back, the events commit marked, and each marked event gets a second
attempt of its own (:mod:`limelight.owed`) before its publisher is answered.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from .db import in_transaction

log = logging.getLogger("limelight.commit")

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Set while the writer runs a batch: publishing from inside it would wait on itself.
_IN_WRITER: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "limelight_in_writer", default=False
)


def in_writer() -> bool:
    """Is the running code inside a group-commit batch (a ``record_events`` call)?"""
    return _IN_WRITER.get()


class Transaction:
    """The transaction a batch of events commits in, as plugins see it in ``record_events``.

    ORM calls made while the hook runs use this transaction by themselves (tortoise binds
    it to the running task); :attr:`connection` is there for ``using_db=`` and raw SQL.
    Memory must change only in :meth:`on_commit` callbacks: a batch can be rolled back and
    written again, and memory changed before the commit would then be wrong.
    """

    def __init__(self, connection: BaseDBAsyncClient) -> None:
        self.connection = connection
        self._callbacks: list[Callable[[], None]] = []
        self._finally: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` (plain, not async) right after the commit, in order; dropped
        when the part of the transaction that registered it is rolled back."""
        self._callbacks.append(callback)

    def on_end(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction is over, committed or rolled back, after
        the ``on_commit`` callbacks; never dropped. For releasing what was taken."""
        self._finally.append(callback)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested part that rolls back alone (with its ``on_commit`` callbacks) when the
        block raises; the exception propagates."""
        mark = len(self._callbacks)
        try:
            async with self.connection._in_transaction():
                yield
        except BaseException:
            del self._callbacks[mark:]
            raise

    def _run_callbacks(self) -> None:
        _run_all(self._callbacks, "on-commit")

    def _end(self) -> None:
        _run_all(self._finally, "on-end")


def _run_all(callbacks: list[Callable[[], None]], kind: str) -> None:
    """Run and forget ``callbacks``; one that fails is logged and the rest still run."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an %s callback failed", kind)
    callbacks.clear()


#: Writes one batch inside ``tx`` and returns one result per item, in order.
Work = Callable[[list[Item], Transaction], Awaitable[list[Result]]]


async def commit_with(
    work: Work[Item, Result], items: list[Item], *, connection: str = "default"
) -> list[Result]:
    """Run ``work`` in one transaction and commit it; then its ``on_commit`` callbacks, and
    in any case its ``on_end`` ones. Publishing from inside is refused (see ``submit``)."""
    token = _IN_WRITER.set(True)
    tx: Transaction | None = None
    try:
        async with in_transaction(connection) as conn:
            tx = Transaction(conn)
            results = await work(items, tx)
        tx._run_callbacks()
    finally:
        _IN_WRITER.reset(token)
        if tx is not None:
            tx._end()
    return results


class GroupCommit(Generic[Item, Result]):
    """One writer task that commits whatever is waiting, as one transaction."""

    def __init__(
        self, work: Work[Item, Result], *, connection: str = "default", max_batch: int = 512
    ) -> None:
        self.work = work
        self.connection = connection
        self.max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: Batches committed and items in them, for ``/healthz`` and the benchmarks.
        self.batches = 0
        self.items = 0
        #: Why the last write failed, until one succeeds (``/healthz`` tells a full disk).
        self.failed: BaseException | None = None

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="bus:group-commit")

    async def stop(self) -> None:
        """Commit what is waiting, then stop the writer."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        await task

    async def submit(self, item: Item) -> Result:
        """Write ``item`` with whatever else is waiting; returns once it is committed."""
        if in_writer():
            raise RuntimeError(
                "cannot publish from inside record_events: the bus is "
                "waiting on that call; publish from on_event instead"
            )
        if self._task is None or self._task.done():
            # not started (a CLI command, a test without the server): a batch of one
            return (await self._commit([item]))[0]
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            await self._write(batch)

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._commit([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.warning(
                    "a batch of %d events failed (%s); writing them one by one", len(batch), exc
                )
                for one in batch:
                    await self._write([one])
                return
            self.failed = exc
            future = batch[0][1]
            if not future.done():
                future.set_exception(exc)
            return
        self.failed = None
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _commit(self, items: list[Item]) -> list[Result]:
        results = await commit_with(self.work, items, connection=self.connection)
        self.batches += 1
        self.items += len(items)
        return results

    def stats(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "events": self.items,
            "mean_batch": round(self.items / self.batches, 2) if self.batches else 0,
        }
