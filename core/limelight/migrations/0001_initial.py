import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="EventRecord",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("type", fields.CharField(db_index=True, max_length=80)),
                ("source", fields.CharField(max_length=80)),
                ("source_id", fields.CharField(max_length=200)),
                ("dedupe_id", fields.CharField(null=True, max_length=200)),
                ("test", fields.BooleanField(default=False)),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("viewer_platform", fields.CharField(null=True, max_length=40)),
                ("viewer_id", fields.CharField(null=True, max_length=100)),
                ("viewer_name", fields.CharField(null=True, max_length=200)),
                (
                    "data",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("handled", fields.BooleanField(default=False)),
            ],
            options={
                "table": "limelight_event",
                "app": "limelight",
                "unique_together": (("source", "dedupe_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Viewer",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("display_name", fields.CharField(default="", max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("hide_name", fields.BooleanField(default=False)),
            ],
            options={"table": "limelight_viewer", "app": "limelight", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ViewerIdentity",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "viewer",
                    fields.ForeignKeyField(
                        "limelight.Viewer",
                        source_field="viewer_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="identities",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("platform", fields.CharField(max_length=40)),
                ("platform_id", fields.CharField(max_length=100)),
                ("name", fields.CharField(default="", max_length=200)),
                ("last_seen", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "limelight_viewer_identity",
                "app": "limelight",
                "unique_together": (("platform", "platform_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
