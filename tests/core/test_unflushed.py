"""``limelight.db.write_unflushed``: the chat log and "handled" marks are written without a
disk flush of their own, and nothing else ever is.

The guarantee under test is the money rule: every other commit on the connection is still
flushed before it returns (SQLite ``synchronous=FULL``, PostgreSQL ``synchronous_commit``
on), also after a write that failed half-way.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from typing import Any

import pytest
from limelight import bus as bus_module
from limelight.db import (
    UNFLUSHED_ROWS,
    Database,
    in_transaction,
    placeholders,
    unflushed_statements,
    write_unflushed,
)
from limelight.events import Event, ViewerRef
from limelight.models import EventRecord
from limelight.testing import make_chat, make_tip


async def _flush_setting(db: Database) -> str:
    if db.backend == "sqlite":
        _, rows = await db.connection.execute_query("PRAGMA synchronous")
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[rows[0]["synchronous"]]
    _, rows = await db.connection.execute_query("SHOW synchronous_commit")
    return str(rows[0]["synchronous_commit"])


def _insert(db: Database, table: str, columns: str) -> Any:
    """``sql(n)`` for :func:`write_unflushed`: a multi-row ``INSERT`` of ``n`` rows."""
    width = len(columns.split(","))
    return lambda rows: (
        f"INSERT INTO {table} ({columns}) VALUES {placeholders(db.backend, width, rows)}"
    )


@pytest.mark.parametrize("count", [*range(0, 2 * UNFLUSHED_ROWS + 2), 1000])
def test_statements_cover_the_rows_in_order_with_few_statement_texts(count: int) -> None:
    """Full-size statements in one ``executemany``, the rest in halving sizes: every value
    once, in order, and at most seven statement texts whatever the count (each one is
    prepared once and then cached by the driver)."""
    width = 3
    values = list(range(count * width))
    asked: list[int] = []

    def sql(rows: int) -> str:
        asked.append(rows)
        return f"rows={rows}"

    statements = unflushed_statements(sql, values, width)
    flat = [v for _, params in statements for one in params for v in one]
    assert flat == values
    for text, params in statements:
        rows = int(text.removeprefix("rows="))
        assert all(len(one) == rows * width for one in params)
        assert rows == UNFLUSHED_ROWS or len(params) == 1
    assert len(statements) == len(set(asked))  # each size once: one executemany a size
    assert set(asked) <= {UNFLUSHED_ROWS >> i for i in range(7)}
    assert [n for n in asked if n == UNFLUSHED_ROWS] == ([UNFLUSHED_ROWS] if count >= 64 else [])
    with pytest.raises(ValueError):
        unflushed_statements(sql, [1, 2], width)
    # values every statement shares go in front of each of its parameter sets, once
    shared = unflushed_statements(sql, values, width, ("a", "b"))
    assert [len(params) for _, params in shared] == [len(params) for _, params in statements]
    assert all(one[:2] == ["a", "b"] for _, params in shared for one in params)
    assert [v for _, params in shared for one in params for v in one[2:]] == values


async def test_rows_are_written_and_every_other_commit_still_flushes(db: Database) -> None:
    durable = "FULL" if db.backend == "sqlite" else "on"
    assert await _flush_setting(db) == durable
    conn = db.connection
    await conn.execute_query("CREATE TABLE unflushed_note (text VARCHAR(20))")
    await write_unflushed(conn, _insert(db, "unflushed_note", "text"), ["a", "b", "c"], 1)
    _, rows = await conn.execute_query("SELECT text FROM unflushed_note ORDER BY text")
    assert [r["text"] for r in rows] == ["a", "b", "c"]
    # Many rows, two values wide: full statements, then the rest, every row in order.
    await conn.execute_query("CREATE TABLE unflushed_pair (n INTEGER, text VARCHAR(20))")
    count = 2 * UNFLUSHED_ROWS + 37
    values = [v for n in range(count) for v in (n, f"row {n}")]
    await write_unflushed(conn, _insert(db, "unflushed_pair", "n, text"), values, 2)
    _, rows = await conn.execute_query("SELECT n, text FROM unflushed_pair ORDER BY n")
    assert [(r["n"], r["text"]) for r in rows] == [(n, f"row {n}") for n in range(count)]
    assert await _flush_setting(db) == durable
    async with in_transaction() as tx:  # a money commit afterwards: flushed as before
        await tx.execute_query("INSERT INTO unflushed_note (text) VALUES ('paid')")
        assert await _flush_setting(db) == durable


async def test_a_failed_write_keeps_nothing_and_restores_the_flush(db: Database) -> None:
    durable = "FULL" if db.backend == "sqlite" else "on"
    conn = db.connection
    await conn.execute_query("CREATE TABLE unflushed_one (text VARCHAR(20) UNIQUE)")
    sql = _insert(db, "unflushed_one", "text")
    with pytest.raises(Exception, match=r"(?i)unique"):
        await write_unflushed(conn, sql, ["x", "x"], 1)
    _, rows = await conn.execute_query("SELECT COUNT(*) AS n FROM unflushed_one")
    assert rows[0]["n"] == 0  # all or nothing: the first row went with the second
    assert await _flush_setting(db) == durable
    # The clash in the last, smallest statement: the full-size ones before it go too.
    values = [f"r{i}" for i in range(UNFLUSHED_ROWS + 2)] + ["r0"]
    with pytest.raises(Exception, match=r"(?i)unique"):
        await write_unflushed(conn, sql, values, 1)
    _, rows = await conn.execute_query("SELECT COUNT(*) AS n FROM unflushed_one")
    assert rows[0]["n"] == 0
    assert await _flush_setting(db) == durable
    async with in_transaction() as tx:  # the connection is usable, no transaction open
        await tx.execute_query("INSERT INTO unflushed_one (text) VALUES ('y')")
    _, rows = await conn.execute_query("SELECT text FROM unflushed_one")
    assert [r["text"] for r in rows] == ["y"]


async def test_a_cancelled_write_keeps_nothing_and_restores_the_flush(db: Database) -> None:
    """A flusher cancelled (``stop()``) while its write waits or runs: nothing is kept
    (its batch goes back for the final flush, which must not find it written already),
    and the connection is left durable and usable, with no transaction open."""
    durable = "FULL" if db.backend == "sqlite" else "on"
    conn = db.connection
    await conn.execute_query("CREATE TABLE unflushed_cut (n INTEGER)")
    values = list(range(20 * UNFLUSHED_ROWS))
    hold = threading.Event()
    held = None
    if db.backend == "sqlite":
        # Hold aiosqlite's thread, so the write is queued behind it when it is cancelled
        # and runs, abandoned, once the thread is let go.
        held = asyncio.ensure_future(conn._connection._execute(hold.wait))
    task = asyncio.create_task(write_unflushed(conn, _insert(db, "unflushed_cut", "n"), values, 1))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Only now let the thread go: released before the task had taken its cancellation,
    # the thread could run the whole write (not abandoned yet) and commit it, which is
    # the "already committing" case, not this one (a CI flake on a slow host).
    hold.set()
    if held is not None:
        await held
    assert await _flush_setting(db) == durable
    async with in_transaction() as tx:
        await tx.execute_query("INSERT INTO unflushed_cut (n) VALUES (-1)")
        assert await _flush_setting(db) == durable
    _, rows = await conn.execute_query("SELECT n FROM unflushed_cut")
    assert [r["n"] for r in rows] == [-1]


async def test_inside_a_transaction_it_writes_with_it(db: Database) -> None:
    conn = db.connection
    await conn.execute_query("CREATE TABLE unflushed_tx (n INTEGER)")
    count = UNFLUSHED_ROWS + 5
    async with in_transaction() as tx:
        await write_unflushed(tx, _insert(db, "unflushed_tx", "n"), list(range(count)), 1)
    _, rows = await conn.execute_query("SELECT n FROM unflushed_tx ORDER BY n")
    assert [r["n"] for r in rows] == list(range(count))


async def test_the_chat_log_goes_through_it(limelight, database_url) -> None:
    """A flushed batch of chat lines and their marks are in the log; the connection flushes
    every other commit as before."""
    h = await limelight(database_url=database_url)
    count = 2 * UNFLUSHED_ROWS + 9  # full statements and the rest
    lines = [make_chat(f"line {i}", f"viewer{i}") for i in range(count)]
    for line in lines:
        await h.services.bus.publish(line)
    await h.settle()
    await h.services.bus.flush()
    assert await EventRecord.filter(type="chat.message", handled=True).count() == count
    texts = (
        await EventRecord.filter(type="chat.message")
        .order_by("id")
        .values_list("source_id", flat=True)
    )
    assert len(set(texts)) == count
    # A batch already logged, written again (a retried flush): skipped, not doubled.
    await bus_module._write_chat_rows(lines[:3])
    # The same line (its id and time) in another object: still stored once.
    await bus_module._write_chat_rows([replace(lines[-1], text="again")])
    assert await EventRecord.filter(type="chat.message").count() == count
    durable = "FULL" if database_url.startswith("sqlite") else "on"
    conn = EventRecord._meta.db
    if database_url.startswith("sqlite"):
        _, rows = await conn.execute_query("PRAGMA synchronous")
        assert rows[0]["synchronous"] == 2, durable
    else:
        _, rows = await conn.execute_query("SHOW synchronous_commit")
        assert rows[0]["synchronous_commit"] == durable


async def test_chat_rows_read_back_as_written_in_the_batchs_order(limelight, database_url) -> None:
    """Every column of a batch's chat log rows as the general row writer (``_row_values``)
    has it, and the ids in the batch's order, for a batch that mixes sources, platforms,
    test lines and lines without a viewer. On SQLite the chat log binds what a run of lines
    shares once a statement (``_chat_insert_sql``); a value bound in the wrong place, or
    runs written out of order, fails here."""
    await limelight(database_url=database_url)
    sqlite = database_url.startswith("sqlite")
    room = ViewerRef("room", "r-1", "Room <b>fan</b>")
    batch: list[Event] = []
    for i in range(UNFLUSHED_ROWS + 7):  # a full statement and the rest
        batch.append(make_chat(f"line {i}", f"viewer{i % 5}", source="twitch"))
    batch += [make_chat("from the room", room, source="room") for _ in range(3)]
    batch.append(make_chat("a test line", "tester", source="twitch", test=True))
    batch.append(replace(make_chat("no one", source="twitch"), viewer=None))
    batch += [make_chat(f"after {i}", "late", source="twitch") for i in range(40)]
    await bus_module._write_chat_rows(batch)
    rows = (
        await EventRecord.filter(type="chat.message")
        .order_by("id")
        .values_list(*bus_module._LOG_COLUMNS)
    )
    assert len(rows) == len(batch)
    received = {row[bus_module._LOG_COLUMNS.index("received_at")] for row in rows}
    assert len(received) == 1  # one stamp a batch
    expected = [bus_module._row_values(event, True, sqlite, None) for event in batch]
    for got, want, event in zip(rows, expected, batch, strict=True):
        for column, a, b in zip(bus_module._LOG_COLUMNS, got, want, strict=True):
            if column == "received_at":
                continue
            if column == "occurred_at":
                assert a == event.occurred_at, column
            elif column in ("test", "handled"):
                assert bool(a) is bool(b), column
            elif column == "data":
                assert a == json.loads(b), column
            else:
                assert a == b, (column, event.source_id)


async def test_handled_marks_go_through_it(limelight, database_url) -> None:
    """Money events' "handled" marks, more than one statement's worth, all written."""
    h = await limelight(database_url=database_url)
    count = UNFLUSHED_ROWS + 3
    for i in range(count):
        await h.services.bus.publish(make_tip(source_id=f"mark-{i}"))
    await h.settle()
    await h.services.bus.flush()
    assert await EventRecord.filter(type="tip", handled=True).count() == count


async def test_a_refused_line_is_dropped_alone(limelight, database_url, monkeypatch) -> None:
    """A batch the database refuses (a value it cannot store) is written again line by
    line, full statements no more: only the refused line is left out of the log."""
    h = await limelight(database_url=database_url)
    real = bus_module.data_json

    def data_json(event: Any) -> Any:
        return object() if getattr(event, "text", "") == "bad" else real(event)

    monkeypatch.setattr(bus_module, "data_json", data_json)
    count = UNFLUSHED_ROWS + 5
    for i in range(count):
        text = "bad" if i == UNFLUSHED_ROWS // 2 else f"line {i}"
        await h.services.bus.publish(make_chat(text, f"viewer{i}"))
    await h.settle()
    await h.services.bus.flush()
    texts = await EventRecord.filter(type="chat.message").values_list("data", flat=True)
    assert len(texts) == count - 1
    assert "bad" not in {t["text"] for t in texts}
    assert not h.services.bus._chat_batch  # nothing held back for another try
