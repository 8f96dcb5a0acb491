"""The shop's tables (tortoise app ``shop``).

No class docstrings on models: tortoise writes them into the schema as SQL comments.
Comments above each class say why it exists instead. Every model sets ``_no_comments``
(no source read at import, as in the tips plugin).
"""

from __future__ import annotations

from typing import Any

from limelight import ViewerRef
from tortoise import fields
from tortoise.models import Model


def item_label(name: str, variant: str) -> str:
    """What a buyer calls a unit: ``Logo hoodie (M)``; the product's name alone without a
    variant. One place, so chat, alerts, Stripe and the pages name it alike."""
    return f"{name} ({variant})" if variant else name


# A thing for sale: merch, or guest slots ("Go Live with"). Prices in integer minor units.
class Product(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    sku = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=120)
    # merch or guest
    kind = fields.CharField(max_length=10, default="merch")
    price_minor = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=8, default="EUR")
    variants: fields.JSONField[list[str]] = fields.JSONField(default=list)
    image = fields.CharField(max_length=500, default="")
    url = fields.CharField(max_length=500, default="")
    kofi_code = fields.CharField(max_length=64, default="", db_index=True)
    # from [[plugins.shop.products]] (synced at start) or made in the dashboard
    from_config = fields.BooleanField(default=False)
    archived = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "shop"
        table = "shop_product"


# A limited sale: products with stock, a window, limits. status: scheduled, open, ended.
# A guest-slot session is a drop whose one item is a guest product.
class Drop(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120)
    status = fields.CharField(max_length=12, default="scheduled", db_index=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    live_only = fields.BooleanField(default=False)
    per_viewer_limit = fields.IntField(default=1)
    # minutes after the start in which only VIP members (of members_tiers, or any) may claim
    members_first_minutes = fields.IntField(default=0)
    members_tiers: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # guest sessions: VIP tiers whose members get a slot for free; members jump the queue
    free_tiers: fields.JSONField[list[str]] = fields.JSONField(default=list)
    members_first_queue = fields.BooleanField(default=False)
    opened_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "shop"
        table = "shop_drop"


# One product (and variant) in a drop. ``remaining`` is THE stock: it only moves through a
# conditional UPDATE (remaining > 0), so concurrent claims can never take more than exist.
class DropItem(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    drop: fields.ForeignKeyRelation[Drop] = fields.ForeignKeyField(
        "shop.Drop", related_name="items", on_delete=fields.CASCADE
    )
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "shop.Product", related_name="drop_items", on_delete=fields.RESTRICT
    )
    variant = fields.CharField(max_length=60, default="")
    stock = fields.IntField()
    remaining = fields.IntField()
    low_announced = fields.BooleanField(default=False)
    sold_out_announced = fields.BooleanField(default=False)

    class Meta:
        app = "shop"
        table = "shop_drop_item"
        unique_together = (("drop", "product", "variant"),)


# How many units of a drop a viewer holds (held or paid). The per-viewer limit is a
# conditional UPDATE on this row in the claim's transaction, like the stock.
class Allowance(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    drop_id = fields.IntField()
    viewer_key = fields.CharField(max_length=150)
    held = fields.IntField(default=0)

    class Meta:
        app = "shop"
        table = "shop_allowance"
        unique_together = (("drop_id", "viewer_key"),)


# One claimed unit. status: held (waiting for payment), paid, expired (unit returned),
# cancelled (returned by the streamer), refunded (paid, then given back).
class Reservation(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    item: fields.ForeignKeyRelation[DropItem] = fields.ForeignKeyField(
        "shop.DropItem", related_name="reservations", on_delete=fields.CASCADE
    )
    drop_id = fields.IntField(db_index=True)
    viewer_key = fields.CharField(max_length=150)
    viewer_platform = fields.CharField(max_length=40)
    viewer_id = fields.CharField(max_length=100)
    viewer_name = fields.CharField(max_length=200, default="")
    status = fields.CharField(max_length=10, default="held", db_index=True)
    expires_at = fields.DatetimeField(db_index=True)
    checkout_id = fields.CharField(max_length=200, default="")
    checkout_url = fields.CharField(max_length=2000, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    paid_at = fields.DatetimeField(null=True)

    @property
    def viewer(self) -> ViewerRef:
        """The chat viewer who claimed the unit: the order that pays it is theirs."""
        return ViewerRef(self.viewer_platform, self.viewer_id, self.viewer_name)

    class Meta:
        app = "shop"
        table = "shop_reservation"


# A paid order, once per provider id (the same key the bus dedupes on). status: paid,
# refund_due (paid, but no unit was left for it: refund it), refunded. A Fourthwall order
# of several lines is one row per line (provider_id ``<order id>:<line>``, payment_ref the
# order id). refunded_minor: money given back so far; below amount_minor the unit stays sold.
# A gift purchase is one row with gift set and its quantity the number of gifts.
class Order(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    provider = fields.CharField(max_length=80)
    provider_id = fields.CharField(max_length=200)
    # the provider's payment id refunds point at (a Stripe PaymentIntent); "" = provider_id
    payment_ref = fields.CharField(max_length=200, default="", db_index=True)
    reservation: fields.ForeignKeyNullableRelation[Reservation] = fields.ForeignKeyField(
        "shop.Reservation", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    drop_id = fields.IntField(null=True, db_index=True)
    item_id = fields.IntField(null=True)
    sku = fields.CharField(max_length=40, default="")
    item_name = fields.CharField(max_length=200, default="")
    variant = fields.CharField(max_length=60, default="")
    quantity = fields.IntField(default=1)
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=8)
    refunded_minor = fields.BigIntField(default=0, db_default=0)
    buyer_platform = fields.CharField(max_length=40, default="")
    buyer_id = fields.CharField(max_length=100, default="")
    buyer_name = fields.CharField(max_length=200, default="")
    status = fields.CharField(max_length=12, default="paid", db_index=True)
    note = fields.CharField(max_length=300, default="")
    # DropItem id -> units this order took from stock (what a full refund gives back);
    # null on orders written before it was kept
    taken: fields.JSONField[dict[str, int] | None] = fields.JSONField(default=dict, null=True)
    event_id = fields.BigIntField(null=True)
    # the merch.order event, the alert and the thanks went out
    announced = fields.BooleanField(default=False)
    # the streamer was told it waits for a refund (shop.refund_due went out)
    refund_flagged = fields.BooleanField(default=False, db_default=False)
    # bought as gifts for the stream's chat (a Fourthwall gift purchase): quantity gifts
    gift = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "shop"
        table = "shop_order"
        unique_together = (("provider", "provider_id"),)


# A paid (or free, for members) guest slot waiting in the queue. status: queued, live,
# done, left, skipped (no-show: refund due), refunded.
class Guest(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    drop_id = fields.IntField(db_index=True)
    order_id = fields.IntField(null=True, unique=True)
    viewer_key = fields.CharField(max_length=150)
    viewer_platform = fields.CharField(max_length=40)
    viewer_id = fields.CharField(max_length=100)
    viewer_name = fields.CharField(max_length=200, default="")
    member_rank = fields.IntField(default=-1)
    position = fields.FloatField()
    status = fields.CharField(max_length=10, default="queued", db_index=True)
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "shop"
        table = "shop_guest"


# Small state that must survive a restart (whether the stream is live).
class ShopState(Model):
    _no_comments = True
    key = fields.CharField(max_length=60, primary_key=True)
    value: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        app = "shop"
        table = "shop_state"
