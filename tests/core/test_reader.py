"""``Database.reader``: long reads on SQLite go to a second, read-only connection, so the
commits queued on the writing connection do not wait behind them.

What must hold: the reader sees what was committed (and nothing still open), refuses every
write, and a read that runs for seconds on it leaves the writer free; where a second
connection would not help (an in-memory database, PostgreSQL's pool) it is the default
connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from limelight.db import Database, has_reader, in_transaction, tortoise_config
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import OperationalError

from tests.support import interrupt, start_long_read


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite://{tmp_path / 'reader.sqlite3'}")
    await database.open()
    await database.connection.execute_script("CREATE TABLE note (text VARCHAR(20))")
    yield database
    await database.close()


async def _texts(connection: BaseDBAsyncClient) -> list[str]:
    rows = await connection.execute_query_dict("SELECT text FROM note ORDER BY text")
    return [row["text"] for row in rows]


def test_only_a_sqlite_file_gets_a_reader(tmp_path: Path) -> None:
    file_url = f"sqlite://{tmp_path / 'x.sqlite3'}"
    assert has_reader(file_url)
    read = tortoise_config(file_url, [])["connections"]["read"]
    assert read["engine"] == "limelight.sqlite_backend"
    assert read["credentials"]["file_path"] == str(tmp_path / "x.sqlite3")
    assert read["credentials"]["query_only"] == "ON"
    assert (
        "query_only" not in tortoise_config(file_url, [])["connections"]["default"]["credentials"]
    )
    for url in ("sqlite://:memory:", "postgres://root@127.0.0.1:5432/test"):
        assert not has_reader(url)
        assert set(tortoise_config(url, [])["connections"]) == {"default"}


async def test_the_reader_sees_what_is_committed_and_nothing_open(sqlite_db: Database) -> None:
    reader = sqlite_db.reader
    assert reader is not sqlite_db.connection
    await sqlite_db.connection.execute_query("INSERT INTO note VALUES ('committed')")
    async with in_transaction() as tx:
        await tx.execute_query("INSERT INTO note VALUES ('open')")
        assert await _texts(tx) == ["committed", "open"]
        assert await _texts(reader) == ["committed"]
    assert await _texts(reader) == ["committed", "open"]


async def test_the_reader_refuses_to_write(sqlite_db: Database) -> None:
    with pytest.raises(OperationalError, match="readonly"):
        await sqlite_db.reader.execute_query("INSERT INTO note VALUES ('sneaked in')")
    with pytest.raises(OperationalError, match="readonly"):
        await sqlite_db.reader.execute_script("CREATE TABLE other (x INTEGER)")
    assert await _texts(sqlite_db.connection) == []


async def test_a_long_read_on_the_reader_leaves_commits_free(sqlite_db: Database) -> None:
    reader = sqlite_db.reader
    long_read = await start_long_read(reader)
    try:
        async with asyncio.timeout(60):  # behind the read it would wait for ever
            async with in_transaction() as tx:
                await tx.execute_query("INSERT INTO note VALUES ('tip')")
            assert await _texts(sqlite_db.connection) == ["tip"]
        # The commit went through while the read was still running.
        assert not long_read.done()
    finally:
        interrupt(reader)
        with pytest.raises(OperationalError, match="interrupted"):
            await long_read


async def test_the_same_read_on_the_writing_connection_holds_commits_up(
    sqlite_db: Database,
) -> None:
    """Why the reader exists: one SQLite connection runs one statement at a time."""
    writer = sqlite_db.connection
    long_read = await start_long_read(writer)
    commit = asyncio.create_task(writer.execute_query("INSERT INTO note VALUES ('tip')"))
    done, _ = await asyncio.wait({commit}, timeout=0.5)
    assert not done and not long_read.done()
    interrupt(writer)
    with pytest.raises(OperationalError, match="interrupted"):
        await long_read
    await commit
    assert await _texts(writer) == ["tip"]


async def test_in_memory_and_postgres_read_on_the_default_connection(
    pg_database: object,
) -> None:
    memory = Database("sqlite://:memory:")
    await memory.open()
    try:
        assert memory.reader is memory.connection
    finally:
        await memory.close()
    make = pg_database  # type: ignore[assignment]
    postgres = Database(await make())  # type: ignore[operator]
    await postgres.open()
    try:
        assert postgres.reader is postgres.connection
        assert await postgres.reader.execute_query_dict("SELECT 1 AS one") == [{"one": 1}]
    finally:
        await postgres.close()
