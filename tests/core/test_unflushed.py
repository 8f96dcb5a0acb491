"""``limelight.db.write_unflushed``: the chat log and "handled" marks are written without a
disk flush of their own, and nothing else ever is.

The guarantee under test is the money rule: every other commit on the connection is still
flushed before it returns (SQLite ``synchronous=FULL``, PostgreSQL ``synchronous_commit``
on), also after a write that failed half-way.
"""

from __future__ import annotations

import pytest
from limelight.db import Database, in_transaction, write_unflushed
from limelight.models import EventRecord
from limelight.testing import make_chat


async def _flush_setting(db: Database) -> str:
    if db.backend == "sqlite":
        _, rows = await db.connection.execute_query("PRAGMA synchronous")
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[rows[0]["synchronous"]]
    _, rows = await db.connection.execute_query("SHOW synchronous_commit")
    return str(rows[0]["synchronous_commit"])


async def test_rows_are_written_and_every_other_commit_still_flushes(db: Database) -> None:
    durable = "FULL" if db.backend == "sqlite" else "on"
    assert await _flush_setting(db) == durable
    conn = db.connection
    mark = "?" if db.backend == "sqlite" else "$1"
    await conn.execute_query("CREATE TABLE unflushed_note (text VARCHAR(20))")
    await write_unflushed(
        conn, f"INSERT INTO unflushed_note (text) VALUES ({mark})", [["a"], ["b"], ["c"]]
    )
    _, rows = await conn.execute_query("SELECT text FROM unflushed_note ORDER BY text")
    assert [r["text"] for r in rows] == ["a", "b", "c"]
    assert await _flush_setting(db) == durable
    async with in_transaction() as tx:  # a money commit afterwards: flushed as before
        await tx.execute_query("INSERT INTO unflushed_note (text) VALUES ('paid')")
        assert await _flush_setting(db) == durable


async def test_a_failed_write_keeps_nothing_and_restores_the_flush(db: Database) -> None:
    durable = "FULL" if db.backend == "sqlite" else "on"
    conn = db.connection
    mark = "?" if db.backend == "sqlite" else "$1"
    await conn.execute_query("CREATE TABLE unflushed_one (text VARCHAR(20) UNIQUE)")
    with pytest.raises(Exception, match=r"(?i)unique"):
        await write_unflushed(
            conn, f"INSERT INTO unflushed_one (text) VALUES ({mark})", [["x"], ["x"]]
        )
    _, rows = await conn.execute_query("SELECT COUNT(*) AS n FROM unflushed_one")
    assert rows[0]["n"] == 0  # all or nothing: the first row went with the second
    assert await _flush_setting(db) == durable
    async with in_transaction() as tx:  # the connection is usable, no transaction open
        await tx.execute_query("INSERT INTO unflushed_one (text) VALUES ('y')")
    _, rows = await conn.execute_query("SELECT text FROM unflushed_one")
    assert [r["text"] for r in rows] == ["y"]


async def test_the_chat_log_goes_through_it(limelight, database_url) -> None:
    """A flushed batch of chat lines and their marks are in the log; the connection flushes
    every other commit as before."""
    h = await limelight(database_url=database_url)
    for i in range(30):
        await h.services.bus.publish(make_chat(f"line {i}", f"viewer{i}"))
    await h.settle()
    await h.services.bus.flush()
    assert await EventRecord.filter(type="chat.message", handled=True).count() == 30
    durable = "FULL" if database_url.startswith("sqlite") else "on"
    conn = EventRecord._meta.db
    if database_url.startswith("sqlite"):
        _, rows = await conn.execute_query("PRAGMA synchronous")
        assert rows[0]["synchronous"] == 2, durable
    else:
        _, rows = await conn.execute_query("SHOW synchronous_commit")
        assert rows[0]["synchronous_commit"] == durable
