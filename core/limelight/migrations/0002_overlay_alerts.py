from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("limelight", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OverlayAlert",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("overlay", fields.CharField(db_index=True, max_length=80)),
                ("kind", fields.CharField(max_length=80)),
                (
                    "data",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "variation",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("duration_ms", fields.IntField(default=0)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("event_id", fields.BigIntField(null=True)),
                ("replay_of", fields.BigIntField(null=True)),
                ("status", fields.CharField(default="queued", max_length=16)),
                ("shown_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "limelight_overlay_alert",
                "app": "limelight",
                "unique_together": (("overlay", "event_id", "kind"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
