"""The VIP plugin's tables (tortoise app ``vip``).

No class docstrings on models: tortoise writes them into the schema as unescaped SQL
comments. Comments above each class say why it exists instead.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


# One grant: a period of a tier for a viewer, from one source. (source, source_id) is
# UNIQUE, so a retried or replayed grant (a webhook delivered five times, a challenge
# milestone reached again after a restart) writes once. A viewer's membership is the best
# tier among their current grants; a renewal is a new grant that starts where the last
# one ends. Revoking (a refund) stamps revoked_at; nothing is deleted, so revenue and
# history stay whole.
class Membership(Model):
    _no_comments = True
    id = fields.BigIntField(primary_key=True)
    viewer_platform = fields.CharField(max_length=40)
    viewer_id = fields.CharField(max_length=100)
    viewer_name = fields.CharField(max_length=200, default="")
    # "member" (a tier) or "supporter" (a tip level badge)
    kind = fields.CharField(max_length=12, default="member")
    tier = fields.CharField(max_length=40)
    source = fields.CharField(max_length=80)
    source_id = fields.CharField(max_length=200)
    starts = fields.DatetimeField()
    # NULL: until revoked (or until the stream ends, for a supporter level)
    ends = fields.DatetimeField(null=True, db_index=True)
    revoked_at = fields.DatetimeField(null=True)
    # set when the expiry was processed (membership.changed expired published)
    ended_at = fields.DatetimeField(null=True)
    warned = fields.BooleanField(default=False)
    # who gave it: a gifter, the moderator, the plugin that called grant()
    granted_by = fields.CharField(max_length=200, default="")
    reason = fields.CharField(max_length=200, default="")
    # "<source>:<source_id>" of the money event that paid for it (refunds find it here)
    payment = fields.CharField(max_length=300, default="", db_index=True)
    # a provider subscription this grant belongs to (Stripe sub_...): renewals, the end
    # and a refund of any of its payments act on all of its grants
    subscription = fields.CharField(max_length=200, default="", db_index=True)
    # the provider's id of the payment itself (a Stripe PaymentIntent), for refunds that
    # name only that
    payment_ref = fields.CharField(max_length=200, default="", db_index=True)
    # the Stripe Checkout Session that started it (the return page finds it by this)
    checkout = fields.CharField(max_length=200, default="", db_index=True)
    amount_minor = fields.BigIntField(null=True)
    currency = fields.CharField(max_length=8, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "vip"
        table = "vip_membership"
        unique_together = (("source", "source_id"),)
        indexes = (("viewer_platform", "viewer_id"),)


# A personal join code handed out by !vip join: it carries the chat viewer (and the tier
# they chose) to Stripe as client_reference_id, or into a Ko-fi message.
class JoinCode(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    viewer_platform = fields.CharField(max_length=40)
    viewer_id = fields.CharField(max_length=100)
    viewer_name = fields.CharField(max_length=200, default="")
    tier = fields.CharField(max_length=40, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        app = "vip"
        table = "vip_join_code"


# Tiers as edited in the dashboard (the whole list, one row per tier, in rank order).
# Empty: the config's tiers apply.
class StoredTier(Model):
    _no_comments = True
    name = fields.CharField(max_length=40, primary_key=True)
    rank = fields.IntField()
    settings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        app = "vip"
        table = "vip_tier"


# Exclusive emotes uploaded per tier: ":code:" renders as the stored image for members.
class TierEmote(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    tier = fields.CharField(max_length=40)
    url = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "vip"
        table = "vip_emote"


# Small state that must survive a restart: an open members-only window's end.
class VipState(Model):
    _no_comments = True
    key = fields.CharField(max_length=60, primary_key=True)
    value: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        app = "vip"
        table = "vip_state"
