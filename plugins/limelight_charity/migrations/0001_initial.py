from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Campaign",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("slug", fields.CharField(unique=True, max_length=60)),
                ("title", fields.CharField(max_length=200)),
                ("cause", fields.CharField(max_length=200)),
                ("cause_url", fields.CharField(max_length=500)),
                ("goal_minor", fields.BigIntField()),
                ("currency", fields.CharField(max_length=8)),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "milestones",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "rates",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("tiltify_campaign_id", fields.CharField(default="", max_length=100)),
                ("origin", fields.CharField(default="dashboard", max_length=20)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "charity_campaign", "app": "charity", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CharityEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "campaign",
                    fields.ForeignKeyField(
                        "charity.Campaign",
                        source_field="campaign_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="entries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("provider", fields.CharField(max_length=80)),
                ("provider_id", fields.CharField(max_length=200)),
                ("kind", fields.CharField(max_length=20)),
                ("channel", fields.CharField(default="", max_length=40)),
                ("amount_minor", fields.BigIntField()),
                ("currency", fields.CharField(max_length=8)),
                ("counted_minor", fields.BigIntField()),
                ("converted", fields.BooleanField(default=False)),
                ("unconverted", fields.BooleanField(default=False)),
                ("rate", fields.CharField(default="", max_length=40)),
                ("viewer_platform", fields.CharField(default="", max_length=40)),
                ("viewer_id", fields.CharField(default="", max_length=100)),
                ("viewer_name", fields.CharField(default="", max_length=200)),
                ("anonymous", fields.BooleanField(default=False)),
                ("message", fields.TextField(default="", unique=False)),
                (
                    "occurred_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("event_id", fields.BigIntField(null=True)),
                (
                    "original",
                    fields.ForeignKeyField(
                        "charity.CharityEntry",
                        source_field="original_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="refunds",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("reason", fields.CharField(default="", max_length=200)),
                ("reacted", fields.BooleanField(default=False)),
            ],
            options={
                "table": "charity_entry",
                "app": "charity",
                "unique_together": (("provider", "provider_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
