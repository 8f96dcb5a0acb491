"""A new database gets its whole schema in one transaction, not migration by migration.

tortoise's executor applies a migration one operation at a time and, before each
operation, rebuilds every model class of the schema so far (``State.clone()``): for the
core's and the built-in plugins' migrations that was ~750 ms and ~30 MB of garbage at the
first ``limelight run``, most of its start-up (``bench_startup_and_rss``). On a database
that has none of them applied, the end result is known without that: play the migrations
forward in memory only (no rebuild per operation), then create each table of the final
state, ordered so a table exists before the ones that point at it, and record every
migration as applied, all in one transaction (on SQLite in one call to its thread). A
crash in the middle leaves an empty database, which the next start creates again.

Only migrations made of schema operations take this path: a ``RunSQL`` or ``RunPython``
(data, triggers, anything the state does not describe) sends the database through the
executor as before. ``tests/core/test_fresh_database.py`` checks that both paths give the
same tables, columns, indexes and constraints on SQLite and PostgreSQL.
"""

from __future__ import annotations

import graphlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import ConnectionHandler
from tortoise.migrations import operations as ops
from tortoise.migrations.executor import MigrationExecutor, PlanStep
from tortoise.migrations.schema_generator.state import State
from tortoise.migrations.schema_generator.state_apps import StateApps
from tortoise.models import Model
from tortoise.transactions import in_transaction

from .db import placeholders
from .migration_ops import IndexAddedField
from .sqlite_backend import TransactionWrapper as SqliteTransaction

log = logging.getLogger(__name__)

#: Operations the projected state describes completely, so creating the final tables
#: gives the same schema as running them one by one.
SCHEMA_OPERATIONS: tuple[type[ops.Operation], ...] = (
    ops.CreateModel,
    ops.DeleteModel,
    ops.RenameModel,
    ops.AlterModelOptions,
    ops.AddField,
    ops.RemoveField,
    ops.AlterField,
    ops.RenameField,
    ops.AddIndex,
    ops.RemoveIndex,
    ops.RenameIndex,
    ops.AddConstraint,
    ops.RemoveConstraint,
    ops.RenameConstraint,
    # the index its field declares, which the final table has
    IndexAddedField,
)


async def create_fresh(
    executor: MigrationExecutor, plan: list[PlanStep], apps_config: dict[str, Any]
) -> bool:
    """Create the schema of a database with no migration applied, in one transaction
    (``plan``: the executor's plan for it).

    Returns False, having changed nothing, when the database is not new (any migration
    recorded) or a migration holds an operation the state does not describe; the caller
    then runs the executor as usual."""
    if not _whole_graph(executor, plan) or not all(map(_describable, plan)):
        return False
    connections = {
        label: cfg.get("default_connection", "default") for label, cfg in apps_config.items()
    }
    try:
        described = await _play_forward(plan)
    except Exception as exc:  # an operation that needs the built classes: the slow path
        log.debug("new database: migrations not played forward in memory (%s)", exc)
        return False
    # The final model classes, built once (state-only: no query sets, the editor needs none).
    final = StateApps(default_connections=connections, connections=ConnectionHandler()).clone(
        model_states=described.models
    )
    models = _creation_order(final)
    # The executor's own choice of schema editor for this connection (SQLite, asyncpg, ...),
    # collecting the statements instead of running them: on SQLite, tortoise runs the
    # migrations table's through ``executescript``, which commits the open transaction.
    editor = executor._schema_editor(atomic=True, collect_sql=True)
    record = executor.recorder.model
    migrations_table = editor._get_model_sql_data(record).table_sql
    for model in models:
        await editor.create_model(model)
    statements = _split(
        [
            migrations_table.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1),
            *editor.collected_sql,
        ]
    )
    # stored as the ORM stores the field (tortoise's recorder binds the datetime as is)
    applied_at = record._meta.fields_map["applied_at"].to_db_value(datetime.now(UTC), record)
    rows = [[step.migration.app_label, step.migration.name, applied_at] for step in plan]
    async with in_transaction(executor.connection.connection_name) as txn:
        await _run_all(txn, statements)
        await txn.execute_many(_record_sql(txn, record._meta.db_table), rows)
    log.info("created a new database: %d tables, %d migrations", len(models), len(plan))
    return True


def _record_sql(txn: BaseDBAsyncClient, table: str) -> str:
    """The ``INSERT`` of one applied migration, as tortoise's recorder writes it."""
    marks = placeholders(txn.capabilities.dialect, 3, 1)
    return f'INSERT INTO "{table}" ("app", "name", "applied_at") VALUES {marks}'


def _split(scripts: list[str]) -> list[str]:
    """The statements of ``scripts``, split as tortoise's SQLite editor splits them."""
    return [s.strip() for script in scripts for s in script.split(";") if s.strip()]


async def _run_all(txn: BaseDBAsyncClient, statements: list[str]) -> None:
    """Run ``statements`` in order inside ``txn``, in one round trip: on SQLite one call
    to its thread (:meth:`limelight.sqlite_backend.TransactionWrapper.run_all`, the
    backend of every ``sqlite://`` URL), on PostgreSQL one script. Never ``executescript``
    on SQLite: it commits first."""
    if isinstance(txn, SqliteTransaction):
        await txn.run_all(statements)
    else:
        await txn.execute_script(";\n".join(statements) + ";")


class _Descriptions(State):
    """The migrations' state with only the model descriptions kept up to date: tortoise
    rebuilds the classes of the changed models (and their query sets) after every
    operation, ~10 MB of throw-away classes here; the classes are built once, at the end."""

    def reload_model(self, app_label: str, model_name: str) -> None:
        pass

    def reload_models(self, model_tuples: Iterable[tuple[str, str]]) -> None:
        pass


async def _play_forward(plan: list[PlanStep]) -> State:
    """The final state of the planned migrations, in memory only (no database)."""
    state = _Descriptions(models={}, apps=StateApps(connections=ConnectionHandler()))
    for step in plan:
        await step.migration.apply(state, dry_run=True, schema_editor=None)
    return state


def _whole_graph(executor: MigrationExecutor, plan: list[PlanStep]) -> bool:
    """Every known migration is pending (a new database), and all of them go forward."""
    return not any(step.backward for step in plan) and len(plan) == len(executor.loader.graph.nodes)


def _describable(step: PlanStep) -> bool:
    return all(type(op) in SCHEMA_OPERATIONS for op in step.migration.operations)


def _creation_order(apps: StateApps) -> list[type[Model]]:
    """The final state's models, each after every model its relations point at (PostgreSQL
    checks a ``REFERENCES`` when the table is created)."""
    models = [model for app in apps.apps.values() for model in app.values()]
    known = set(models)
    graph = {
        model: [t for t in _targets(model) if t is not model and t in known] for model in models
    }
    return list(graphlib.TopologicalSorter(graph).static_order())


def _targets(model: type[Model]) -> list[type[Model]]:
    meta = model._meta
    names = [*meta.fk_fields, *meta.o2o_fields, *meta.m2m_fields]
    return [getattr(meta.fields_map[name], "related_model", model) for name in names]
