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
            name="LedgerEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("provider", fields.CharField(max_length=80)),
                ("provider_id", fields.CharField(max_length=200)),
                ("kind", fields.CharField(max_length=20)),
                ("detail", fields.CharField(default="", max_length=40)),
                ("amount_minor", fields.BigIntField()),
                ("currency", fields.CharField(max_length=8)),
                ("viewer_pk", fields.IntField(null=True, db_index=True)),
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
                        "tips.LedgerEntry",
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
                "table": "tips_ledger",
                "app": "tips",
                "unique_together": (("provider", "provider_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PendingAlert",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("entry_id", fields.BigIntField(null=True)),
                ("kind", fields.CharField(max_length=20)),
                ("status", fields.CharField(default="pending", db_index=True, max_length=12)),
                ("name", fields.CharField(default="", max_length=200)),
                ("amount", fields.CharField(default="", max_length=40)),
                ("message", fields.TextField(default="", unique=False)),
                (
                    "payload",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("test", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "tips_pending_alert", "app": "tips", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TipCode",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=16)),
                ("viewer_platform", fields.CharField(max_length=40)),
                ("viewer_id", fields.CharField(max_length=100)),
                ("viewer_name", fields.CharField(default="", max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "tips_code", "app": "tips", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TipsState",
            fields=[
                (
                    "key",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=60),
                ),
                (
                    "value",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={"table": "tips_state", "app": "tips", "pk_attr": "key"},
            bases=["Model"],
        ),
    ]
