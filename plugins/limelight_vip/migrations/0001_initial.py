from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="JoinCode",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=16)),
                ("viewer_platform", fields.CharField(max_length=40)),
                ("viewer_id", fields.CharField(max_length=100)),
                ("viewer_name", fields.CharField(default="", max_length=200)),
                ("tier", fields.CharField(default="", max_length=40)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "vip_join_code", "app": "vip", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Membership",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("viewer_platform", fields.CharField(max_length=40)),
                ("viewer_id", fields.CharField(max_length=100)),
                ("viewer_name", fields.CharField(default="", max_length=200)),
                ("kind", fields.CharField(default="member", max_length=12)),
                ("tier", fields.CharField(max_length=40)),
                ("source", fields.CharField(max_length=80)),
                ("source_id", fields.CharField(max_length=200)),
                ("starts", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "ends",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("warned", fields.BooleanField(default=False)),
                ("granted_by", fields.CharField(default="", max_length=200)),
                ("reason", fields.CharField(default="", max_length=200)),
                ("payment", fields.CharField(default="", db_index=True, max_length=300)),
                ("subscription", fields.CharField(default="", db_index=True, max_length=200)),
                ("payment_ref", fields.CharField(default="", db_index=True, max_length=200)),
                ("checkout", fields.CharField(default="", db_index=True, max_length=200)),
                ("amount_minor", fields.BigIntField(null=True)),
                ("currency", fields.CharField(default="", max_length=8)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "vip_membership",
                "app": "vip",
                "unique_together": (("source", "source_id"),),
                "indexes": [Index(fields=["viewer_platform", "viewer_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StoredTier",
            fields=[
                (
                    "name",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40),
                ),
                ("rank", fields.IntField()),
                (
                    "settings",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={"table": "vip_tier", "app": "vip", "pk_attr": "name"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TierEmote",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=32)),
                ("tier", fields.CharField(max_length=40)),
                ("url", fields.CharField(max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "vip_emote", "app": "vip", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="VipState",
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
            options={"table": "vip_state", "app": "vip", "pk_attr": "key"},
            bases=["Model"],
        ),
    ]
