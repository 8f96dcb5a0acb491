"""Tortoise's SQLite backend, with a transaction's bookkeeping sent along with its work.

Why: aiosqlite runs every call on a thread of its own, and each call is a hop there and
back that the event loop has to come back for (~0.1 to 0.15 ms under load). Tortoise spends
four hops a transaction, and two more a savepoint, on statements that return nothing the
caller reads: a no-op ``commit()`` and ``BEGIN`` to start, ``SAVEPOINT`` and ``RELEASE``
around each plugin's part of a group commit (:meth:`limelight.plugins.PluginHost.record_events`).
Here those statements wait on the connection (:meth:`DeferringConnection.defer`) and run
on aiosqlite's thread right before the next call that does return something, in the same
hop: a batch of tips went from eight hops to four (docs/performance.md, tips, fifth round).

Nothing changes in what reaches SQLite or in its order: every call still goes through the
connection's one queue, and a deferred statement runs before anything queued after it,
whoever queued it. Only where a failure shows changes: a ``BEGIN`` or ``SAVEPOINT`` that
fails raises from the statement after it (both fail only when the connection is unusable,
and then that statement would fail too). ``COMMIT`` and ``ROLLBACK`` are never deferred, so
a commit still returns only once SQLite has flushed it.

Used through :func:`limelight.db.tortoise_config` for every ``sqlite://`` URL (the engine
``limelight.sqlite_backend``); PostgreSQL is unchanged.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosqlite
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient as TortoiseSqliteClient,
)
from tortoise.backends.sqlite.client import (
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    _gen_savepoint_name,
)
from tortoise.exceptions import TransactionManagementError

#: aiosqlite's default number of rows fetched per hop when iterating a cursor.
ITER_CHUNK_SIZE = 64


class DeferringConnection(aiosqlite.Connection):
    """An aiosqlite connection that can hold calls back until its next one (see module)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, ITER_CHUNK_SIZE)
        self._deferred: list[Callable[[], object]] = []

    def defer(self, sql: str) -> None:
        """Run ``sql`` (no parameters, no result) right before the next call, on the same
        hop to aiosqlite's thread."""
        self._deferred.append(functools.partial(self._conn.execute, sql))

    def defer_commit(self) -> None:
        """Commit whatever transaction is open, right before the next call (tortoise
        does so before each ``BEGIN``; almost always a no-op)."""
        self._deferred.append(self._conn.commit)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hop: Callable[..., Awaitable[Any]] = super()._execute  # aiosqlite's, untyped
        if not self._deferred:
            return await hop(fn, *args, **kwargs)
        deferred, self._deferred = self._deferred, []
        return await hop(_after, deferred, functools.partial(fn, *args, **kwargs))


def _nothing() -> None:
    """A call that only carries the deferred statements (:meth:`TransactionWrapper.run_all`)."""


def _after(deferred: list[Callable[[], object]], call: Callable[[], Any]) -> Any:
    """On aiosqlite's thread: the deferred statements in order, then the call."""
    for statement in deferred:
        statement()
    return call()


class SqliteClient(TortoiseSqliteClient):
    """Tortoise's SQLite client on a :class:`DeferringConnection`."""

    async def create_connection(self, with_db: bool) -> None:
        # tortoise's own create_connection, on the deferring connection
        if self._connection:
            return
        filename = self.filename
        connection = DeferringConnection(lambda: sqlite3.connect(filename, isolation_level=None))
        self._connection = await connection
        connection._conn.row_factory = sqlite3.Row
        # query_only last: the journal mode may still have to be set on a read-only
        # connection's file.
        for pragma, value in sorted(self.pragmas.items(), key=lambda p: p[0] == "query_only"):
            cursor = await connection.execute(f"PRAGMA {pragma}={value}")
            await cursor.close()
        await self._post_connect()

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(TransactionWrapper(self), self._lock)


class TransactionWrapper(SqliteTransactionWrapper):
    """A transaction whose ``BEGIN``, ``SAVEPOINT`` and ``RELEASE`` ride along with the
    statement after them."""

    _connection: DeferringConnection

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(TransactionWrapper(self))

    async def run_all(self, statements: Sequence[str]) -> None:
        """Run ``statements`` (no parameters, no results) in order in this transaction, in
        one hop (a new database's schema: ~60 statements). Unlike ``execute_script``
        (sqlite3's ``executescript``), this does not commit first."""
        for statement in statements:
            self._connection.defer(statement)
        await self._connection._execute(_nothing)

    async def begin(self) -> None:
        self._connection.defer_commit()
        self._connection.defer("BEGIN")

    async def savepoint(self) -> None:
        self._savepoint = _gen_savepoint_name()  # tortoise's own names
        self._connection.defer(f"SAVEPOINT {self._savepoint}")

    async def release_savepoint(self) -> None:
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        if self._savepoint is None:
            raise TransactionManagementError("No savepoint to release")
        self._connection.defer(f"RELEASE {self._savepoint}")


#: What tortoise looks up in an engine module.
client_class = SqliteClient
