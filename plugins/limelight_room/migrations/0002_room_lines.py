from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("room", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="RoomLine",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("line_id", fields.CharField(db_index=True, max_length=200)),
                ("viewer", fields.CharField(default="", db_index=True, max_length=150)),
                (
                    "data",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "room_line", "app": "room", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
