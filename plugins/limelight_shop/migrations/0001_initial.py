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
            name="Allowance",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("drop_id", fields.IntField()),
                ("viewer_key", fields.CharField(max_length=150)),
                ("held", fields.IntField(default=0)),
            ],
            options={
                "table": "shop_allowance",
                "app": "shop",
                "unique_together": (("drop_id", "viewer_key"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Drop",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=120)),
                ("status", fields.CharField(default="scheduled", db_index=True, max_length=12)),
                ("starts_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("live_only", fields.BooleanField(default=False)),
                ("per_viewer_limit", fields.IntField(default=1)),
                ("members_first_minutes", fields.IntField(default=0)),
                (
                    "members_tiers",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "free_tiers",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("members_first_queue", fields.BooleanField(default=False)),
                ("opened_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "shop_drop", "app": "shop", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Guest",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("drop_id", fields.IntField(db_index=True)),
                ("order_id", fields.IntField(null=True, unique=True)),
                ("viewer_key", fields.CharField(max_length=150)),
                ("viewer_platform", fields.CharField(max_length=40)),
                ("viewer_id", fields.CharField(max_length=100)),
                ("viewer_name", fields.CharField(default="", max_length=200)),
                ("member_rank", fields.IntField(default=-1)),
                ("position", fields.FloatField()),
                ("status", fields.CharField(default="queued", db_index=True, max_length=10)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "shop_guest", "app": "shop", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Product",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("sku", fields.CharField(unique=True, max_length=40)),
                ("name", fields.CharField(max_length=120)),
                ("kind", fields.CharField(default="merch", max_length=10)),
                ("price_minor", fields.BigIntField(default=0)),
                ("currency", fields.CharField(default="EUR", max_length=8)),
                (
                    "variants",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("image", fields.CharField(default="", max_length=500)),
                ("url", fields.CharField(default="", max_length=500)),
                ("kofi_code", fields.CharField(default="", db_index=True, max_length=64)),
                ("from_config", fields.BooleanField(default=False)),
                ("archived", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "shop_product", "app": "shop", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DropItem",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "drop",
                    fields.ForeignKeyField(
                        "shop.Drop",
                        source_field="drop_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="items",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "product",
                    fields.ForeignKeyField(
                        "shop.Product",
                        source_field="product_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="drop_items",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("variant", fields.CharField(default="", max_length=60)),
                ("stock", fields.IntField()),
                ("remaining", fields.IntField()),
                ("low_announced", fields.BooleanField(default=False)),
                ("sold_out_announced", fields.BooleanField(default=False)),
            ],
            options={
                "table": "shop_drop_item",
                "app": "shop",
                "unique_together": (("drop", "product", "variant"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Reservation",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=16)),
                (
                    "item",
                    fields.ForeignKeyField(
                        "shop.DropItem",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reservations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("drop_id", fields.IntField(db_index=True)),
                ("viewer_key", fields.CharField(max_length=150)),
                ("viewer_platform", fields.CharField(max_length=40)),
                ("viewer_id", fields.CharField(max_length=100)),
                ("viewer_name", fields.CharField(default="", max_length=200)),
                ("status", fields.CharField(default="held", db_index=True, max_length=10)),
                (
                    "expires_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("checkout_id", fields.CharField(default="", max_length=200)),
                ("checkout_url", fields.CharField(default="", max_length=2000)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("paid_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "shop_reservation", "app": "shop", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Order",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("provider", fields.CharField(max_length=80)),
                ("provider_id", fields.CharField(max_length=200)),
                ("payment_ref", fields.CharField(default="", db_index=True, max_length=200)),
                (
                    "reservation",
                    fields.ForeignKeyField(
                        "shop.Reservation",
                        source_field="reservation_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="orders",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("drop_id", fields.IntField(null=True, db_index=True)),
                ("item_id", fields.IntField(null=True)),
                ("sku", fields.CharField(default="", max_length=40)),
                ("item_name", fields.CharField(default="", max_length=200)),
                ("variant", fields.CharField(default="", max_length=60)),
                ("quantity", fields.IntField(default=1)),
                ("amount_minor", fields.BigIntField()),
                ("currency", fields.CharField(max_length=8)),
                ("buyer_platform", fields.CharField(default="", max_length=40)),
                ("buyer_id", fields.CharField(default="", max_length=100)),
                ("buyer_name", fields.CharField(default="", max_length=200)),
                ("status", fields.CharField(default="paid", db_index=True, max_length=12)),
                ("note", fields.CharField(default="", max_length=300)),
                ("event_id", fields.BigIntField(null=True)),
                ("announced", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "shop_order",
                "app": "shop",
                "unique_together": (("provider", "provider_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ShopState",
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
            options={"table": "shop_state", "app": "shop", "pk_attr": "key"},
            bases=["Model"],
        ),
    ]
