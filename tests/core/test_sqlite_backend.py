"""``limelight.sqlite_backend``: a transaction's ``BEGIN``, ``SAVEPOINT`` and ``RELEASE``
ride along with the statement after them, on a real SQLite file.

What must not change: the statements SQLite runs and their order, savepoints that roll back
alone, a commit that is on disk when it returns, and nothing left open after a rollback.
What must change: those three statements no longer cost a hop to aiosqlite's thread each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from limelight.db import Database, connection_config, in_transaction, tortoise_config
from limelight.sqlite_backend import DeferringConnection, SqliteClient, TransactionWrapper


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / "deferring.sqlite3"
    database = Database(f"sqlite://{path}")
    await database.open()
    await database.connection.execute_script("CREATE TABLE note (text VARCHAR(20))")
    yield database, path
    await database.close()


class _Watch:
    """The statements SQLite runs (its trace callback, on aiosqlite's thread) and the
    hops made to that thread."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.hops = 0


@pytest.fixture
async def watch(
    sqlite_db: tuple[Database, Path], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[_Watch]:
    database, _ = sqlite_db
    raw = database.connection._connection
    assert isinstance(raw, DeferringConnection)
    seen = _Watch()
    await raw._execute(raw._conn.set_trace_callback, seen.statements.append)
    hop = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *a: Any) -> Any:
        seen.hops += 1
        return await hop(self, fn, *a)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield seen
    monkeypatch.undo()
    await raw._execute(raw._conn.set_trace_callback, None)


def _rows(path: Path) -> list[str]:
    """What another connection reads from the file: only what was committed."""
    with sqlite3.connect(path) as other:
        return [r[0] for r in other.execute("SELECT text FROM note ORDER BY text")]


def test_sqlite_urls_use_the_deferring_backend_and_postgres_is_unchanged(tmp_path: Path) -> None:
    sqlite = connection_config(f"sqlite://{tmp_path / 'x.sqlite3'}")
    assert isinstance(sqlite, dict)
    assert sqlite["engine"] == "limelight.sqlite_backend"
    assert sqlite["credentials"]["file_path"] == str(tmp_path / "x.sqlite3")
    assert sqlite["credentials"]["journal_mode"] == "WAL"
    url = "postgres://root@127.0.0.1:5432/test"
    assert connection_config(url) == url
    assert tortoise_config(url, [])["connections"]["default"] == url


async def test_the_client_is_tortoise_sqlite_client_with_durable_commits(
    sqlite_db: tuple[Database, Path],
) -> None:
    database, _ = sqlite_db
    assert isinstance(database.connection, SqliteClient)
    _, rows = await database.connection.execute_query("PRAGMA synchronous")
    assert rows[0]["synchronous"] == 2  # FULL
    _, rows = await database.connection.execute_query("PRAGMA journal_mode")
    assert rows[0]["journal_mode"] == "wal"


async def test_begin_savepoint_and_release_ride_with_the_next_statement(
    sqlite_db: tuple[Database, Path], watch: _Watch
) -> None:
    _, path = sqlite_db
    async with in_transaction() as tx:
        await tx.execute_query("INSERT INTO note (text) VALUES ('outer')")
        async with tx._in_transaction():
            await tx.execute_query("INSERT INTO note (text) VALUES ('inner')")
    names = [s.split()[0] for s in watch.statements]
    assert names == ["BEGIN", "INSERT", "SAVEPOINT", "INSERT", "RELEASE", "COMMIT"]
    # one hop for each INSERT and one for the COMMIT: tortoise alone makes seven
    assert watch.hops == 3
    assert _rows(path) == ["inner", "outer"]


async def test_a_savepoint_still_rolls_back_alone(
    sqlite_db: tuple[Database, Path], watch: _Watch
) -> None:
    _, path = sqlite_db
    async with in_transaction() as tx:
        await tx.execute_query("INSERT INTO note (text) VALUES ('kept')")
        with pytest.raises(RuntimeError):
            async with tx._in_transaction():
                await tx.execute_query("INSERT INTO note (text) VALUES ('dropped')")
                raise RuntimeError("the plugin failed")
        await tx.execute_query("INSERT INTO note (text) VALUES ('after')")
    assert _rows(path) == ["after", "kept"]
    assert [s.split()[0] for s in watch.statements].count("ROLLBACK") == 1


async def test_a_savepoint_with_nothing_in_it_costs_no_hop(
    sqlite_db: tuple[Database, Path], watch: _Watch
) -> None:
    """A plugin with nothing to write in a batch: its savepoint's two statements go with
    the commit."""
    _, path = sqlite_db
    async with in_transaction() as tx:
        await tx.execute_query("INSERT INTO note (text) VALUES ('one')")
        async with tx._in_transaction():
            pass
    assert watch.hops == 2
    assert [s.split()[0] for s in watch.statements][-3:] == ["SAVEPOINT", "RELEASE", "COMMIT"]
    assert _rows(path) == ["one"]


async def test_a_commit_is_on_disk_when_it_returns(sqlite_db: tuple[Database, Path]) -> None:
    _, path = sqlite_db
    async with in_transaction() as tx:
        await tx.execute_query("INSERT INTO note (text) VALUES ('durable')")
        assert _rows(path) == []  # not before the commit
    assert _rows(path) == ["durable"]


async def test_an_empty_or_failed_transaction_leaves_nothing_open(
    sqlite_db: tuple[Database, Path],
) -> None:
    database, path = sqlite_db
    raw = database.connection._connection
    async with in_transaction():
        pass  # BEGIN never had a statement to ride with: it goes with the COMMIT
    with pytest.raises(RuntimeError):
        async with in_transaction():
            raise RuntimeError("failed before its first statement")
    with pytest.raises(RuntimeError):
        async with in_transaction() as tx:
            await tx.execute_query("INSERT INTO note (text) VALUES ('rolled back')")
            raise RuntimeError("failed after it")
    assert not await raw._execute(lambda: raw._conn.in_transaction)
    # autocommit again: this write is committed by itself
    await database.connection.execute_query("INSERT INTO note (text) VALUES ('later')")
    assert _rows(path) == ["later"]


async def test_a_deferred_statement_runs_before_any_later_call_on_the_connection(
    sqlite_db: tuple[Database, Path],
) -> None:
    """Whoever makes the next call (here aiosqlite's own ``_execute``, as
    ``write_unflushed`` does), the deferred ``BEGIN`` runs first: the order SQLite sees is
    the order the calls were made in."""
    database, _ = sqlite_db
    raw = database.connection._connection
    async with in_transaction():
        assert await raw._execute(lambda: raw._conn.in_transaction)
    assert not await raw._execute(lambda: raw._conn.in_transaction)


async def test_run_all_runs_statements_in_one_hop_inside_the_transaction(
    sqlite_db: tuple[Database, Path], watch: _Watch
) -> None:
    """A new database's schema: many statements, one hop, and no commit in the middle
    (``executescript`` would commit the transaction first)."""
    _, path = sqlite_db
    with pytest.raises(RuntimeError):
        async with in_transaction() as tx:
            assert isinstance(tx, TransactionWrapper)
            await tx.run_all([f"INSERT INTO note (text) VALUES ('{n}')" for n in ("a", "b", "c")])
            assert watch.hops == 1
            raise RuntimeError("rolled back: none of the three is kept")
    assert _rows(path) == []
    assert [s.split()[0] for s in watch.statements] == ["BEGIN", *["INSERT"] * 3, "ROLLBACK"]
