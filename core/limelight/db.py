"""The database: tortoise-orm on SQLite (default) or PostgreSQL, one app per plugin.

Limelight owns its :class:`~tortoise.context.TortoiseContext` instead of relying on
tortoise's task-local default, because requests, bus workers and scheduler jobs all run in
different tasks; the context is installed as tortoise's global fallback while open.
Pending migrations of the core and of every enabled plugin are applied at startup, so an
upgrade of Limelight or of a plugin upgrades the schema without losing data.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import timezone
from tortoise.backends.base.client import (
    BaseDBAsyncClient,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connections
from tortoise.context import TortoiseContext
from tortoise.fields.base import Field
from tortoise.fields.data import JSONField
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.models import Model
from tortoise.transactions import in_transaction as tortoise_in_transaction
from tortoise.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator

from .registry import Models

log = logging.getLogger(__name__)

CORE_MODELS = Models(app="limelight", models="limelight.models", migrations="limelight.migrations")
#: Seconds the database has to answer at startup (``[database] connect_timeout``): with
#: Python's own start, a failed ``limelight run`` still says why within 5 s.
CONNECT_TIMEOUT = 2.5
#: Seconds closing the connections may take (a database that stopped answering must not
#: hold up a stop).
CLOSE_TIMEOUT = 1.5
#: Seconds ``status()`` waits for the database's answer.
STATUS_TIMEOUT = 2.0
#: Seconds a finished health check is reused (``/healthz`` may be polled often) ...
CHECK_REUSE = 1.0
#: ... and after which a check that never finished is left behind for a new one.
CHECK_ABANDON = 10.0
#: Seconds a write probe's answer is reused.
PROBE_EVERY = 5.0
#: SQLite's flush setting for every commit but :func:`write_unflushed`'s (its default,
#: FULL: a commit is on disk before it returns; tortoise leaves it so).
SQLITE_SYNCHRONOUS = "FULL"
#: Free bytes below which the disk of a SQLite database counts as full.
LOW_DISK = 4 * 1024 * 1024


#: Values bound in one statement by :func:`insert_rows` (SQLite since 3.32 and PostgreSQL
#: take at most 32,766 or 32,767).
MAX_BOUND_VALUES = 30_000


class DatabaseError(Exception):
    """The database cannot be reached or upgraded; ``str()`` is a one-line cause."""


@dataclass
class DatabaseStatus:
    ok: bool
    backend: str
    error: str = ""
    #: A write in a transaction (rolled back) succeeded and the disk has room.
    writable: bool = True


def normalise_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to the config file and create its folder."""
    if url.startswith("sqlite://") and url != "sqlite://:memory:":
        path = Path(url[len("sqlite://") :])
        if not path.is_absolute():
            path = base_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite://{path}"
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://") :]
    return url


def backend_name(url: str) -> str:
    return url.split("://", 1)[0]


#: The tortoise connection :attr:`Database.reader` names, when the database has one.
READ_CONNECTION = "read"


def tortoise_config(url: str, apps: list[Models]) -> dict[str, Any]:
    app_cfg: dict[str, Any] = {}
    for spec in apps:
        entry: dict[str, Any] = {"models": [spec.models], "default_connection": "default"}
        if spec.migrations:
            entry["migrations"] = spec.migrations
        app_cfg[spec.app] = entry
    connections: dict[str, Any] = {"default": connection_config(url)}
    if has_reader(url):
        connections[READ_CONNECTION] = connection_config(url, read_only=True)
    return {"connections": connections, "apps": app_cfg}


def connection_config(url: str, *, read_only: bool = False) -> str | dict[str, Any]:
    """Tortoise's connection setting for ``url``: SQLite on :mod:`limelight.sqlite_backend`
    (a transaction's ``BEGIN`` and savepoints without hops of their own), the rest as is.
    ``read_only``: a SQLite connection that refuses every write (``query_only``)."""
    if not url.startswith("sqlite://"):
        return url
    config = expand_db_url(url)
    config["engine"] = "limelight.sqlite_backend"
    if read_only:
        config["credentials"]["query_only"] = "ON"
    return config


def has_reader(url: str) -> bool:
    """Does a database at ``url`` get a connection of its own for long reads
    (:attr:`Database.reader`)? A SQLite file does: one connection runs one statement at a
    time, so a read of a few hundred milliseconds (a leaderboard over years of tips) would
    hold up every commit queued behind it, while WAL lets a second connection read the
    last committed state as the first one writes. An in-memory SQLite database is private
    to its connection, and PostgreSQL's pool already reads beside the writer."""
    return url.startswith("sqlite://") and ":memory:" not in url and "mode=memory" not in url


class SafeTransaction:
    """``tortoise.transactions.in_transaction``, with a start that failed undone.

    When ``BEGIN`` fails or is cancelled (the database went away, a PostgreSQL restart cut
    the connection), tortoise 1.1 leaves what its ``__aenter__`` took: the pooled connection
    (the pool runs dry after a few) or SQLite's transaction lock (every later transaction
    waits forever), and the task's current connection set to the dead transaction, so every
    later transaction of that task (the group-commit writer's) fails with "connection is
    closed" even once the database is back. This gives them back, so the next attempt works.
    """

    def __init__(self, connection: str = "default") -> None:
        self._context: TransactionContext = tortoise_in_transaction(connection)

    async def __aenter__(self) -> BaseDBAsyncClient:
        try:
            return await self._context.__aenter__()
        except BaseException:
            await _undo_enter(self._context)
            raise

    async def __aexit__(self, *exc: Any) -> None:
        await self._context.__aexit__(*exc)


def in_transaction(connection: str = "default") -> SafeTransaction:
    """``async with in_transaction() as conn:`` — see :class:`SafeTransaction`."""
    return SafeTransaction(connection)


async def _undo_enter(context: TransactionContext) -> None:
    token = getattr(context, "token", None)
    if token is None:  # failed before it took the connection
        return
    get_connections().reset(token)
    lock = getattr(context, "_trxlock", None)  # SQLite
    if isinstance(lock, asyncio.Lock) and lock.locked():
        lock.release()
    client = getattr(context, "client", None)  # PostgreSQL: a pooled connection
    pool = getattr(getattr(client, "_parent", None), "_pool", None)
    taken = getattr(client, "_connection", None)
    if pool is not None and taken is not None:
        try:
            await pool.release(taken)
        except Exception as exc:
            log.debug("giving back a connection whose transaction did not start: %s", exc)


@contextmanager
def _older_objects_set_aside() -> Iterator[None]:
    """Keep the collector off what exists before the block while the block runs (the
    migrations, at start-up), then collect what the block left in cycles.

    Why: the migrations build and drop ~40 model classes (~14,000 objects in cycles) that
    only a full collection frees, and by then the start-up heap is ~100,000 objects: a full
    collection took 48 to 60 ms of every start, and the automatic ones during the
    migrations walked the same heap. With the older objects frozen (``gc.freeze()``,
    undone after) the collections walk only what the block made; a frozen object's
    references keep what they point at alive, so nothing in use is freed. When objects
    are frozen already (a test process that set its heap aside), the freezing is left
    alone and the collection walks everything, as before."""
    own = gc.get_freeze_count() == 0
    if own:
        gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        if own:
            gc.unfreeze()


def _forget_migrations(apps_cfg: Mapping[str, Mapping[str, Any]]) -> None:
    """Unload the migration modules once they have run: they are read at start-up only,
    and tortoise's ``CreateModel`` keeps the model class it built for the state on the
    operation, so the modules would hold ~40 throw-away model classes (~3 MB) for the life
    of the server. The next ``migrate()`` imports them again. They are cycles: the
    collection at the end of :func:`_older_objects_set_aside` frees them."""
    packages = tuple(f"{cfg['migrations']}." for cfg in apps_cfg.values())
    for name in [name for name in sys.modules if name.startswith(packages)]:
        del sys.modules[name]
        package, _, module = name.rpartition(".")
        if hasattr(sys.modules.get(package), module):  # the import put it on its package
            delattr(sys.modules[package], module)


class Database:
    """Open, migrate and close the database; the handle plugins get as ``ctx.db``."""

    def __init__(
        self,
        url: str,
        apps: list[Models] | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.url = url
        self.apps = [CORE_MODELS, *(apps or [])]
        self.backend = backend_name(url)
        self.connect_timeout = connect_timeout
        self._tctx: TortoiseContext | None = None
        self.last_error = ""
        self._check: asyncio.Task[tuple[bool, str]] | None = None
        self._check_started = 0.0
        self._probed_at = -PROBE_EVERY
        self._write_error = ""

    async def open(self, *, migrate: bool = True) -> None:
        if self.backend not in ("sqlite", "postgres", "asyncpg", "psycopg"):
            raise DatabaseError(f"database.url: unsupported database {self.backend!r}")
        config = tortoise_config(self.url, self.apps)
        # tortoise caches each model's INSERT/DELETE SQL per connection *name* (always
        # "default" here), so SQL built for SQLite would be reused for PostgreSQL when one
        # process opens both (test suites do): start from an empty cache.
        EXECUTOR_CACHE.clear()
        tctx = TortoiseContext()
        try:
            with tctx:
                async with asyncio.timeout(self.connect_timeout):
                    await tctx.init(config=config, _enable_global_fallback=True)
                    self._tctx = tctx
                    await self.connection.execute_query("SELECT 1")
                if migrate:
                    await self.migrate()
        except TimeoutError:
            self._tctx = tctx
            await self.close(wait=0.5)
            raise DatabaseError(
                f"database {self.describe()}: no answer within {self.connect_timeout:g} s "
                "([database] connect_timeout)"
            ) from None
        except DatabaseError:
            await self.close()
            raise
        except Exception as exc:
            await self.close()
            if "Global context fallback is already enabled" in str(exc):
                # tortoise serves one global context per process: a second app cannot open
                # its database while the first one runs (a test that starts two harnesses).
                raise DatabaseError(
                    "another Limelight app is already running in this "
                    "process; stop it first (in tests: await "
                    "h.client.close())"
                ) from None
            raise DatabaseError(f"database {self.describe()}: {_one_line(exc)}") from None

    async def migrate(self, targets: list[tuple[str, str]] | None = None) -> None:
        """Apply pending migrations (all apps, or up to ``targets`` of ``(app, name)``)."""
        with _older_objects_set_aside():  # collects once _migrate's locals are gone
            await self._migrate(targets)

    async def _migrate(self, targets: list[tuple[str, str]] | None) -> None:
        from .fresh_database import create_fresh  # it builds its SQL with this module's helpers

        apps_cfg = tortoise_config(self.url, self.apps)["apps"]
        apps_cfg = {k: v for k, v in apps_cfg.items() if "migrations" in v}
        executor = MigrationExecutor(self.connection, apps_cfg)
        wanted = [MigrationTarget(app_label=a, name=n) for a, n in targets] if targets else None
        try:
            with self._context():
                if wanted is None:
                    # One reading of the graph and of what is applied: on every start but
                    # the first there is nothing to do, and the executor would read both
                    # again to find that out.
                    plan = await executor.plan()
                    if not plan or await create_fresh(executor, plan, apps_cfg):
                        return
                await executor.migrate(wanted)
        finally:
            _forget_migrations(apps_cfg)

    async def close(self, *, wait: float = CLOSE_TIMEOUT) -> None:
        """Close the connections, waiting at most ``wait`` seconds for the database."""
        tctx, self._tctx = self._tctx, None
        if tctx is not None:
            # In a task that is left behind when the database does not answer: cancelling
            # a driver's close may itself wait on the network.
            closing = asyncio.get_running_loop().create_task(tctx.close_connections())
            done, _ = await asyncio.wait({closing}, timeout=wait)
            if not done:
                log.warning("the database did not close within %g s; leaving it", wait)
            elif closing.exception() is not None:
                # closing must never mask the error that got us here
                log.debug("closing the database failed: %s", closing.exception())

    def _context(self) -> TortoiseContext:
        if self._tctx is None:
            raise DatabaseError("the database is not open")
        return self._tctx

    @property
    def connection(self) -> BaseDBAsyncClient:
        return self._context().connections.get("default")

    @property
    def reader(self) -> BaseDBAsyncClient:
        """The connection for reads that may take a while and need only what is committed
        (boards, totals, reports): ``query.using_db(ctx.db.reader)``. Why: on SQLite the
        default connection also carries every commit, and a long read there makes the
        commits behind it wait (a webhook's 2xx, an alert); this one is a second,
        read-only connection to the same file (:func:`has_reader`). Elsewhere it is the
        default connection. It never sees a transaction that is still open, its own
        caller's included: inside ``record_events`` read through the transaction."""
        connections = self._context().connections
        if has_reader(self.url):
            return connections.get(READ_CONNECTION)
        return connections.get("default")

    def transaction(self) -> Any:
        """``async with ctx.db.transaction():`` — commits on exit, rolls back on error."""
        return in_transaction("default")

    async def status(self, *, failed_write: BaseException | None = None) -> DatabaseStatus:
        """Can the database be reached, and can it write?

        Answers within :data:`STATUS_TIMEOUT` whatever the database does: the check runs
        in a task of its own that callers share (and that is left behind, never awaited,
        when the database stopped answering), so ``/healthz`` keeps answering during an
        outage and a burst of probes costs one query.

        ``failed_write`` is the error of the last write the server tried, if it failed: a
        storage error there (disk full, read-only, I/O) means it cannot write, whatever the
        probe says, until a write succeeds again."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        task = self._check
        age = now - self._check_started
        if task is None or (task.done() and age >= CHECK_REUSE) or age > CHECK_ABANDON:
            task = self._check = loop.create_task(self._check_now(), name="db:health-check")
            self._check_started = now
        done, _ = await asyncio.wait({task}, timeout=STATUS_TIMEOUT)
        if not done:
            reachable, error = False, f"no answer within {STATUS_TIMEOUT:g} s"
        else:
            reachable, error = task.result()
        if not reachable:
            self.last_error = error
            return DatabaseStatus(False, self.backend, error, writable=False)
        problem = storage_error(failed_write) if failed_write is not None else ""
        problem = problem or self._low_disk() or error
        if problem:
            return DatabaseStatus(False, self.backend, problem, writable=False)
        return DatabaseStatus(True, self.backend)

    async def _check_now(self) -> tuple[bool, str]:
        """``(reachable, why it cannot write or "")``; never raises."""
        try:
            await self.connection.execute_query("SELECT 1")
        except Exception as exc:
            return False, _one_line(exc)
        return True, await self._probe_write()

    async def _probe_write(self) -> str:
        """Create a table in a transaction and roll it back: fails on a read-only file, a
        read-only PostgreSQL (a standby, ``default_transaction_read_only``) or lost
        permissions. Its answer is reused for a few seconds."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._probed_at < PROBE_EVERY:
            return self._write_error
        try:
            async with in_transaction("default") as conn:
                await conn.execute_query("CREATE TABLE limelight_write_probe (x INTEGER)")
                raise _RolledBack
        except _RolledBack:
            self._write_error = ""
        except Exception as exc:
            self._write_error = f"cannot write: {_one_line(exc)}"
        self._probed_at = loop.time()
        return self._write_error

    def _low_disk(self) -> str:
        """SQLite only (a PostgreSQL server's disk is not ours to see): the file system of
        the database file is (nearly) full."""
        if self.backend != "sqlite" or ":memory:" in self.url:
            return ""
        path = Path(self.url[len("sqlite://") :]).parent
        try:
            stat = os.statvfs(path)
        except OSError:
            return ""
        free = stat.f_bavail * stat.f_frsize
        if free < LOW_DISK:
            return f"cannot write: the disk of {path} is full ({free // 1024} kB free)"
        return ""

    def describe(self) -> str:
        """The URL without credentials, for messages."""
        scheme, _, rest = self.url.partition("://")
        if "@" in rest:
            rest = rest.split("@", 1)[1]
        return f"{scheme}://{rest}"


class _RolledBack(Exception):
    """Raised inside the write probe's transaction to roll it back."""


#: Words in a driver's error that mean the storage, not the statement, failed.
_STORAGE_WORDS = (
    "disk is full",
    "disk i/o error",
    "readonly database",
    "read-only transaction",
    "no space left",
    "could not extend file",
    "could not write",
)
#: PostgreSQL error classes 53 (insufficient resources) and 58 (system error), and 25006
#: (read-only transaction).
_STORAGE_STATES = ("53", "58", "25006")


def storage_error(exc: BaseException) -> str:
    """A one-line description when ``exc`` (or what caused it) says the database cannot
    write at all (disk full, read-only, I/O error); "" for any other error."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        state = str(getattr(node, "sqlstate", "") or "")
        text = str(node).lower()
        if any(state.startswith(s) for s in _STORAGE_STATES if state) or any(
            w in text for w in _STORAGE_WORDS
        ):
            return f"cannot write: {_one_line(node)}"
        node = node.__cause__ or node.__context__
    return ""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


#: Rows per statement of :func:`write_unflushed`: its rows go as multi-row statements
#: (``INSERT ... VALUES (...), (...)``), because SQLite's Python binding costs ~4 µs per
#: row and statement of an ``executemany`` against ~2.7 µs per row bound in a statement of
#: 50. A fixed size, so each statement is prepared once and then found in the driver's
#: cache; the rows that do not fill one go in statements of 32, 16, ..., 1 rows, so a
#: caller has at most seven statements, whatever the counts.
UNFLUSHED_ROWS = 64

#: One ``executemany`` of :func:`write_unflushed`: a statement and its parameter sets.
Statement = tuple[str, list[list[Any]]]


def unflushed_statements(
    sql: Callable[[int], str], values: list[Any], width: int, head: Sequence[Any] = ()
) -> list[Statement]:
    """Split the flat ``values`` of rows ``width`` values wide into :func:`write_unflushed`'s
    statements, in order: every full :data:`UNFLUSHED_ROWS`-row statement in one
    ``executemany``, then the rest in halving sizes. ``sql(n)`` is the statement for ``n``
    rows (the caller caches it); ``head``, values every statement binds before its rows'
    (what all of its rows share, bound once a statement instead of once a row)."""
    if len(values) % width:
        raise ValueError(f"{len(values)} values are not rows of {width}")
    count = len(values) // width
    full = count - count % UNFLUSHED_ROWS
    step = UNFLUSHED_ROWS * width
    first = list(head)

    def params(start: int, stop: int) -> list[Any]:
        return first + values[start:stop] if first else values[start:stop]

    out: list[Statement] = []
    if full:
        out.append(
            (
                sql(UNFLUSHED_ROWS),
                [params(i, i + step) for i in range(0, full * width, step)],
            )
        )
    start, rest, size = full * width, count - full, UNFLUSHED_ROWS // 2
    while rest:
        if rest >= size:
            out.append((sql(size), [params(start, start + size * width)]))
            start += size * width
            rest -= size
        size //= 2
    return out


async def write_unflushed(
    conn: BaseDBAsyncClient, sql: Callable[[int], str], values: list[Any], width: int
) -> None:
    """Write rows ``width`` values wide (``values``, flat, in order) in one transaction that
    does not wait for the disk, as the multi-row statements ``sql(n)`` of n rows
    (:func:`unflushed_statements`).

    Why: for what nothing was promised on (the chat log, "handled" and "reacted" marks:
    :func:`mark_unflushed`), a flush to disk per batch only makes the next money commit
    wait behind it on SQLite's one connection: 17 to 174 ms on a loaded disk, the worst
    of an alert's latency under a chat flood (docs/performance.md, "Overlays under
    load"). SQLite commits this one transaction with ``synchronous=NORMAL``, holding the
    connection's lock from the switch to the switch back, so no other statement, and no
    money commit, runs without its flush; PostgreSQL
    commits it with ``synchronous_commit`` off for this transaction only. Either way the
    rows reach the disk in order, with the next durable commit's flush or a checkpoint: a
    power cut may lose the last of them, never a durable commit, and corrupts nothing.
    All or nothing: a statement that fails rolls back the ones before it.

    On SQLite the whole of it (switch, ``BEGIN``, statements, ``COMMIT`` or ``ROLLBACK``,
    switch back) is one call on aiosqlite's thread: each hop to that thread costs ~90 µs
    of CPU, and a batch of chat lines took five or more.
    """
    await write_statements(conn, unflushed_statements(sql, values, width))


async def write_statements(conn: BaseDBAsyncClient, statements: list[Statement]) -> None:
    """:func:`write_unflushed` for statements already split (:func:`unflushed_statements`,
    maybe several of them, all in the one transaction)."""
    if not statements:
        return
    if conn.capabilities.dialect != "sqlite":
        async with in_transaction(conn.connection_name) as tx:
            await tx.execute_query("SET LOCAL synchronous_commit TO OFF")
            for text, params in statements:
                await tx.execute_many(text, params)
        return
    if isinstance(conn, TransactionalDBClient):  # inside a transaction: it flushes anyway
        for text, params in statements:
            await conn.execute_many(text, params)
        return
    abandoned = threading.Event()
    async with conn.acquire_connection() as raw:
        # aiosqlite's own way to run a call on its thread (what its execute() does).
        run: Callable[..., Awaitable[None]] = raw._execute
        try:
            await run(_write_unflushed_sqlite, raw._conn, statements, abandoned)
        except asyncio.CancelledError:
            # The call runs on in the thread: unless it is already committing, it rolls
            # back, so a cancelled flush (stop()) that puts its batch back for the final
            # one does not leave it written twice (a test line has no key to skip it).
            abandoned.set()
            raise


async def mark_unflushed(model: type[Model], field: str, ids: Sequence[int]) -> None:
    """Set the boolean ``field`` of ``model``'s rows ``ids`` to true, with
    :func:`write_unflushed`: for marks whose loss in a power cut only means something is
    done again, as after a crash before the mark (an event offered to the plugins again,
    a tip's reactions read back as not sent). One ``UPDATE ... WHERE id IN (...)`` per
    :data:`UNFLUSHED_ROWS` ids, built as text: no query object per id, no flush of its own
    in front of the next money commit."""
    if not ids:
        return
    meta = model._meta
    conn = meta.db
    sql = functools.partial(
        _mark_sql,
        meta.db_table,
        meta.fields_db_projection[field],
        meta.db_pk_column,
        conn.capabilities.dialect,
    )
    await write_unflushed(conn, sql, list(ids), 1)


@functools.cache
def _mark_sql(table: str, column: str, key: str, dialect: str, rows: int) -> str:
    value = "1" if dialect == "sqlite" else "TRUE"
    marks = placeholders(dialect, rows, 1)  # one "row" of ``rows`` marks: "(?, ?, ...)"
    return f"UPDATE {table} SET {column} = {value} WHERE {key} IN {marks}"


class _Abandoned(Exception):
    """The caller of :func:`write_unflushed` was cancelled before the commit."""


def _write_unflushed_sqlite(
    db: sqlite3.Connection, statements: list[Statement], abandoned: threading.Event
) -> None:
    """:func:`write_unflushed` on SQLite, on aiosqlite's thread: the durable setting is
    back before this returns, whatever happened. Nothing else runs on this connection
    meanwhile: the thread runs one call at a time (and the caller holds the lock)."""
    if abandoned.is_set():
        return
    db.execute("PRAGMA synchronous = NORMAL")
    try:
        db.execute("BEGIN")
        try:
            for text, params in statements:
                if len(params) == 1:
                    db.execute(text, params[0])
                else:
                    db.executemany(text, params)
            if abandoned.is_set():
                raise _Abandoned
            db.commit()
        except BaseException:
            if db.in_transaction:
                db.rollback()
            raise
    except _Abandoned:
        pass
    finally:
        db.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")


def placeholders(dialect: str, columns: int, rows: int, *, first: int = 1) -> str:
    """``(?, ?), (?, ?)`` (SQLite) or ``($1, $2), ($3, $4)`` (PostgreSQL): the ``VALUES``
    of a multi-row ``INSERT``, or with one row an ``IN (...)`` list. ``first``: the number
    of the first PostgreSQL mark, when parameters come before these."""
    if dialect == "sqlite":
        one = "(" + ", ".join("?" * columns) + ")"
        return ", ".join([one] * rows)
    marks = (f"${i}" for i in range(first, first + columns * rows))
    return ", ".join(
        "(" + ", ".join(next(marks) for _ in range(columns)) + ")" for _ in range(rows)
    )


class Encoded(str):
    """JSON text already encoded (``json.dumps``) for a JSON column, passed to
    :func:`insert_rows` as it is: the caller encoded the value once for its own use (an
    alert's size check and wire text), so the insert does not encode it again."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    field: Field[Any]
    default: Any
    auto_now: bool
    #: The field converts with the base ``Field.to_db_value`` (text, numbers, flags).
    plain: bool
    #: A JSON column: an :class:`Encoded` value goes in as it is (when the field has no
    #: validators of its own).
    json: bool
    #: The field has validators (``field.validate`` must pass for every value).
    validated: bool
    #: A quick test that ``field.validate`` passes for a value, for the usual validators
    #: (a text's length, an integer's range); when it says no, ``field.validate`` decides.
    passes: Callable[[Any], bool]
    #: ``field.field_type`` (what a plain field's value is converted to).
    field_type: Any


#: The validators :func:`_passes` knows how to test quickly (exactly these classes).
_KNOWN_VALIDATORS = (MaxLengthValidator, MinValueValidator, MaxValueValidator)


def _never(value: Any) -> bool:
    return False


def _passes(field: Field[Any]) -> Callable[[Any], bool]:
    """What :attr:`_Column.passes` tests for ``field``: true only for values that
    ``field.validate`` surely accepts (``None`` when the field is nullable, a ``str`` within
    every ``MaxLengthValidator``, an ``int`` within every min/max). Anything else (another
    validator, an ``Enum``, a ``bool``) answers false, and the field's own check runs."""
    longest: int | None = None
    low: Any = None
    high: Any = None
    for validator in field.validators:
        if type(validator) not in _KNOWN_VALIDATORS:  # a subclass may check more
            return _never
        if isinstance(validator, MaxLengthValidator):
            limit = validator.max_length
            longest = limit if longest is None else min(longest, limit)
        elif isinstance(validator, MinValueValidator):
            low = validator.min_value if low is None else max(low, validator.min_value)
        elif isinstance(validator, MaxValueValidator):
            high = validator.max_value if high is None else min(high, validator.max_value)
    nullable = bool(field.null)
    if longest is not None and low is None and high is None:
        most = longest

        def text_passes(value: Any) -> bool:
            if value is None:
                return nullable
            return type(value) is str and len(value) <= most

        return text_passes
    if longest is None and (low is not None or high is not None):
        lowest = float("-inf") if low is None else low
        highest = float("inf") if high is None else high

        def int_passes(value: Any) -> bool:
            if value is None:
                return nullable
            return type(value) is int and lowest <= value <= highest

        return int_passes
    return _never


@functools.cache
def _columns(model: type[Model]) -> tuple[_Column, ...]:
    """The columns an insert into ``model`` fills (all but generated ones), worked out once."""
    return tuple(
        _Column(
            f.model_field_name,
            f,
            f.default,
            bool(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)),
            type(f).to_db_value is Field.to_db_value,
            isinstance(f, JSONField),
            bool(f.validators),
            _passes(f),
            f.field_type,
        )
        for f in model._meta.fields_map.values()
        if f.has_db_field and not f.generated
    )


async def insert_rows(
    conn: BaseDBAsyncClient, model: type[Model], rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert ``rows`` (field name -> Python value; missing fields take the model's
    defaults) into ``model``'s table with one multi-row ``INSERT`` per
    :data:`MAX_BOUND_VALUES`, and return their new ids in the order of ``rows``.

    Why: the rows a group-commit batch writes (the tips ledger, the alert outbox) cost
    one statement and one round trip to the database's thread or socket per batch instead
    of per row, and no model object is built. Values go through each field's own
    ``to_db_value`` (with its validation: a too-long text raises as ``Model.save``
    would); a conflict raises too. The ids come back sorted: both databases number the
    rows of one ``VALUES`` list in its order. A JSON column takes an :class:`Encoded`
    text as it is.
    """
    if not rows:
        return []
    meta = model._meta
    columns = _columns(model)
    names = [meta.fields_db_projection[c.name] for c in columns]
    now = timezone.localtime()
    values: list[Any] = []
    append = values.append
    for row in rows:
        for c in columns:
            name = c.name
            if name in row:
                value = row[name]
            elif c.auto_now:
                value = now
            else:
                value = c.default() if callable(c.default) else c.default
            if c.plain:  # what the base Field.to_db_value does, without two method calls
                kind = c.field_type
                if (
                    value is not None
                    and value.__class__ is not kind
                    and not isinstance(value, kind)
                ):
                    value = kind(value)
                if c.validated and not c.passes(value):
                    c.field.validate(value)
            elif not (c.json and value.__class__ is Encoded and not c.validated):
                value = c.field.to_db_value(value, model)
            append(value)
    dialect = conn.capabilities.dialect
    table = meta.db_table
    step = max(1, MAX_BOUND_VALUES // len(names))
    ids: list[int] = []
    for start in range(0, len(rows), step):
        chunk = values[start * len(names) : (start + step) * len(names)]
        count = len(chunk) // len(names)
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"VALUES {placeholders(dialect, len(names), count)} RETURNING {meta.db_pk_column}"
        )
        # execute_query_dict: tortoise's execute_query drops RETURNING rows on PostgreSQL
        found = await conn.execute_query_dict(sql, chunk)
        ids.extend(sorted(int(r[meta.db_pk_column]) for r in found))
    return ids
