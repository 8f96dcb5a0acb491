"""A new database is created in one transaction (``limelight.fresh_database``), and what
it gets is exactly what the migrations give one by one.

The fast path builds the tables from the migrations' final state instead of running each
operation; these tests hold it to the executor's result on SQLite and PostgreSQL: the same
tables, columns (names, types, defaults, nullability), indexes, foreign keys and recorded
migrations, for the core and every built-in plugin. Only the order of the columns may
differ (an upgraded table has an added column last, a new one has it where the model's
relations put it); Limelight names every column it reads or writes. A migration that writes data
still runs as written, and a database that has migrations applied is upgraded by the
executor as before (``tests/core/test_storage.py``).
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from limelight.db import CORE_MODELS, Database
from limelight.registry import Models

from tests.fixtures.apps import seeded

ROOT = Path(__file__).resolve().parents[2]

#: Every built-in plugin that ships migrations, as it registers its models.
BUILT_IN = [
    Models(path.name.removeprefix("limelight_"), f"{path.name}.models", f"{path.name}.migrations")
    for path in sorted((ROOT / "plugins").glob("limelight_*"))
    if (path / "migrations").is_dir()
]


def _migrations_of(spec: Models) -> list[str]:
    """The migration files of one app, oldest first."""
    found = importlib.util.find_spec(spec.migrations or "")
    assert found is not None and found.submodule_search_locations
    folder = Path(next(iter(found.submodule_search_locations)))
    return sorted(p.stem for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py"))


def _heads(database: Database) -> list[tuple[str, str]]:
    """The newest migration of each app: migrating to these runs the executor."""
    return [(spec.app, _migrations_of(spec)[-1]) for spec in database.apps]


async def _schema(database: Database) -> dict[str, Any]:
    """Tables with their columns, indexes and foreign keys, as the database reports them."""
    conn = database.connection
    schema: dict[str, Any] = {}
    if database.backend == "sqlite":
        _, tables = await conn.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        for (table,) in sorted(tuple(row) for row in tables):
            _, columns = await conn.execute_query(f'PRAGMA table_info("{table}")')
            _, indexes = await conn.execute_query(f'PRAGMA index_list("{table}")')
            _, keys = await conn.execute_query(f'PRAGMA foreign_key_list("{table}")')
            described = []
            for index in sorted(indexes, key=lambda row: row["name"]):
                _, cols = await conn.execute_query(f'PRAGMA index_info("{index["name"]}")')
                described.append(
                    (
                        index["name"],
                        index["unique"],
                        index["partial"],
                        [c["name"] for c in cols],
                    )
                )
            schema[table] = {
                "columns": sorted(tuple(row)[1:] for row in columns),  # without the position
                "indexes": described,
                "keys": sorted(
                    (k["table"], k["from"], k["to"], k["on_update"], k["on_delete"]) for k in keys
                ),
            }
        return schema
    _, columns = await conn.execute_query(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, "
        "character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, column_name"
    )
    _, indexes = await conn.execute_query(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    _, constraints = await conn.execute_query(
        "SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype, "
        "pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
    )
    for row in columns:
        schema.setdefault(row["table_name"], {"columns": [], "indexes": [], "constraints": []})
        schema[row["table_name"]]["columns"].append(tuple(row.values())[1:])
    for row in indexes:
        schema[row["tablename"]]["indexes"].append((row["indexname"], row["indexdef"]))
    for row in constraints:
        schema[row["table_name"].strip('"')]["constraints"].append(
            (row["conname"], row["contype"], row["definition"])
        )
    for table in schema.values():
        table["indexes"].sort()
        table["constraints"].sort()
    return schema


async def _recorded(database: Database) -> list[tuple[str, str]]:
    _, rows = await database.connection.execute_query(
        'SELECT app, name FROM "tortoise_migrations" ORDER BY app, name'
    )
    return [(row["app"], row["name"]) for row in rows]


async def _open(url: str, apps: list[Models], *, one_by_one: bool) -> Database:
    database = Database(url, apps)
    if one_by_one:
        await database.open(migrate=False)
        await database.migrate(targets=_heads(database))
    else:
        await database.open()
    return database


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_new_database_gets_what_the_migrations_give_one_by_one(
    backend: str, tmp_path: Path, pg_database: Any, caplog: pytest.LogCaptureFixture
) -> None:
    urls = (
        [f"sqlite://{tmp_path / 'fast.sqlite3'}", f"sqlite://{tmp_path / 'slow.sqlite3'}"]
        if backend == "sqlite"
        else [await pg_database(), await pg_database()]
    )
    results = []
    for url, one_by_one in zip(urls, (False, True), strict=True):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="limelight.fresh_database"):
            database = await _open(url, BUILT_IN, one_by_one=one_by_one)
        try:
            fast = any("created a new database" in r.getMessage() for r in caplog.records)
            assert fast is not one_by_one
            results.append((await _schema(database), await _recorded(database)))
        finally:
            await database.close()
    (fast_schema, fast_recorded), (slow_schema, slow_recorded) = results
    assert fast_recorded == slow_recorded
    assert len(fast_recorded) == sum(len(_migrations_of(spec)) for spec in [CORE_MODELS, *BUILT_IN])
    assert sorted(fast_schema) == sorted(slow_schema)
    for table in slow_schema:
        assert fast_schema[table] == slow_schema[table], table


async def test_a_migration_that_writes_data_is_run_as_written(database_url: str) -> None:
    """``RunSQL`` is not in the state: the new database goes through the executor and the
    row it seeds is there."""
    database = await _open(database_url, [seeded.MODELS], one_by_one=False)
    try:
        _, rows = await database.connection.execute_query("SELECT name FROM seeded_level")
        assert [row["name"] for row in rows] == ["Bronze"]
        assert ("seeded", "0002_bronze") in await _recorded(database)
    finally:
        await database.close()


async def test_an_up_to_date_database_opens_again_unchanged(database_url: str) -> None:
    first = await _open(database_url, BUILT_IN, one_by_one=False)
    try:
        await first.connection.execute_query(
            "INSERT INTO limelight_viewer (display_name, created_at, hide_name) "
            "VALUES ('kept', CURRENT_TIMESTAMP, FALSE)"
        )
        before = await _schema(first)
    finally:
        await first.close()
    again = await _open(database_url, BUILT_IN, one_by_one=False)
    try:
        assert await _schema(again) == before
        _, rows = await again.connection.execute_query("SELECT display_name FROM limelight_viewer")
        assert [row["display_name"] for row in rows] == ["kept"]
    finally:
        await again.close()


async def test_the_migration_modules_are_unloaded_once_they_ran(database_url: str) -> None:
    """They hold a model class per ``CreateModel`` for the life of the server otherwise; a
    second database opened in the same process reads them again."""
    for _ in range(2):
        database = await _open(database_url, BUILT_IN, one_by_one=False)
        try:
            loaded = [
                name
                for name in sys.modules
                if name.startswith(("limelight.migrations.", "limelight_tips.migrations."))
            ]
            assert loaded == []
            assert await _recorded(database)
        finally:
            await database.close()
        database_url = database_url.replace("limelight.sqlite3", "again.sqlite3")


async def test_an_index_repair_migration_rolls_back(database_url: str) -> None:
    """``IndexAddedField`` undone (``limelight migrate`` to the migration before it) drops
    the index it made, and doing it again brings it back."""
    database = await _open(database_url, BUILT_IN, one_by_one=False)
    try:

        async def indexed() -> bool:
            table = (await _schema(database))["tips_ledger"]
            return "refund_of" in repr(table["indexes"])

        assert await indexed()
        await database.migrate(targets=[("tips", "0002_refund_of")])
        assert not await indexed()
        await database.migrate(targets=[("tips", "0003_refund_of_index")])
        assert await indexed()
    finally:
        await database.close()


async def test_a_new_database_that_fails_half_way_is_left_empty(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every table and the record of every migration commit together: when the last
    statement fails, no table is left (on SQLite, tortoise's own recorder commits the
    transaction with ``executescript`` before the tables, and such a database could not be
    created again), and the next start creates the whole schema."""
    import limelight.fresh_database as fresh
    from limelight.db import DatabaseError

    monkeypatch.setattr(fresh, "_record_sql", lambda txn, table: "INSERT INTO no_such_table")
    with pytest.raises(DatabaseError):
        await _open(database_url, BUILT_IN, one_by_one=False)
    monkeypatch.undo()
    database = Database(database_url, BUILT_IN)
    await database.open(migrate=False)
    try:
        assert await _schema(database) == {}
    finally:
        await database.close()
    database = await _open(database_url, BUILT_IN, one_by_one=False)
    try:
        assert "tips_ledger" in await _schema(database)
        assert len(await _recorded(database)) == sum(
            len(_migrations_of(spec)) for spec in [CORE_MODELS, *BUILT_IN]
        )
    finally:
        await database.close()


async def test_migrating_collects_what_it_left_and_leaves_the_collector_as_it_was(
    tmp_path: Path,
) -> None:
    """The migrations' throw-away model classes are collected before ``open()`` returns,
    walking only what the migrations made (the older heap is frozen meanwhile, see
    ``limelight.db._older_objects_set_aside``); a heap frozen before stays frozen."""
    gc.collect()
    assert gc.get_freeze_count() == 0
    database = await _open(f"sqlite://{tmp_path / 'a.sqlite3'}", BUILT_IN, one_by_one=False)
    await database.close()
    assert gc.get_freeze_count() == 0
    # without the collection at the end of migrate() this found ~14,000 objects
    assert gc.collect() < 2_000
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        database = await _open(f"sqlite://{tmp_path / 'b.sqlite3'}", BUILT_IN, one_by_one=False)
        await database.close()
        # still frozen (objects freed by their reference counts leave the count)
        assert frozen // 2 < gc.get_freeze_count() <= frozen
        assert gc.collect() < 2_000
    finally:
        gc.unfreeze()
