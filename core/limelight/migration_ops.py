"""Migration operations Limelight adds to tortoise's, for the core's and plugins' migrations.

tortoise 1.1's ``AddField`` adds the column but not the index the field declares
(``db_index=True``), while a table created with the field has it. A database upgraded
through such an ``AddField`` then lacks an index a new database has (found by
``tests/core/test_fresh_database.py``, which compares the two). Put
:class:`IndexAddedField` right after such an ``AddField``, in the same migration or a
later one, and both kinds of database get the same index, under the same name.
"""

from __future__ import annotations

from tortoise.migrations.operations import TortoiseOperation
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State
from tortoise.models import Model


class IndexAddedField(TortoiseOperation):
    """Create the index of a field added by ``AddField`` with ``db_index=True``.

    The state already describes the field and its index, so this changes no state (and
    ``makemigrations`` sees nothing); it only brings an upgraded table in line. ``IF NOT
    EXISTS``: a tortoise that creates the index itself makes this a no-op."""

    reduces_to_sql = True

    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def describe(self) -> str:
        return f"Index {self.model_name}.{self.name}"

    async def _run(
        self, app_label: str, state: State, editor: BaseSchemaEditor | None, *, create: bool
    ) -> None:
        if editor is None:
            return
        model: type[Model] = state.apps.get_model(f"{app_label}.{self.model_name}")
        column = model._meta.fields_map[self.name].source_field or self.name
        index = editor._generate_index_name("idx", model, [column])
        if create:
            sql = f'CREATE INDEX IF NOT EXISTS "{index}" ON "{model._meta.db_table}" ("{column}");'
        else:
            sql = f'DROP INDEX IF EXISTS "{index}";'
        await editor._run_sql(sql)

    async def database_forward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        await self._run(app_label, new_state, state_editor, create=True)

    async def database_backward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        await self._run(app_label, old_state, state_editor, create=False)
