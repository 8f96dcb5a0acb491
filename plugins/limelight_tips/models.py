"""The tips plugin's tables (tortoise app ``tips``).

No class docstrings on models: tortoise writes them into the schema as unescaped SQL
comments. Comments above each class say why it exists instead.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

# Every model here sets ``_no_comments = True`` (as tortoise's own migration-state models
# do): without it tortoise reads the model's source file with ``inspect.getsource`` when
# the class is created, looking for ``#:`` field comments (there are none; descriptions,
# if ever wanted, go in ``description=``), about 3 ms a model at every start-up.


# The ledger: append-only, one row per money movement, in integer minor units. The unique
# (provider, provider_id) is the same key the bus dedupes on, so a replayed event can never
# write twice. A refund is its own negative row pointing at the row it reverses.
class LedgerEntry(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=80)
    provider_id = fields.CharField(max_length=200)
    # tip, cheer or refund
    kind = fields.CharField(max_length=20)
    # what the provider called it: donation, subscription, shop_order, checkout, ...
    detail = fields.CharField(max_length=40, default="")
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=8)
    # core viewer id (a person across platforms); NULL for tips with no viewer at all
    viewer_pk = fields.IntField(null=True, db_index=True)
    viewer_platform = fields.CharField(max_length=40, default="")
    viewer_id = fields.CharField(max_length=100, default="")
    viewer_name = fields.CharField(max_length=200, default="")
    anonymous = fields.BooleanField(default=False)
    message = fields.TextField(default="")
    occurred_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    event_id = fields.BigIntField(null=True)
    original: fields.ForeignKeyNullableRelation[LedgerEntry] = fields.ForeignKeyField(
        "tips.LedgerEntry", related_name="refunds", null=True, on_delete=fields.RESTRICT
    )
    reason = fields.CharField(max_length=200, default="")
    # refunds: "<provider>:<provider_id>" of the tip reversed, also when that tip is not in
    # the ledger yet (providers do not promise order); the tip adopts it when it arrives
    refund_of = fields.CharField(max_length=300, default="", db_default="", db_index=True)
    # set once the alert, thanks and leaderboard update went out (replays skip them)
    reacted = fields.BooleanField(default=False)

    class Meta:
        app = "tips"
        table = "tips_ledger"
        unique_together = (("provider", "provider_id"),)


# A personal tip code handed out by !tip: it carries the chat viewer to the provider
# (Stripe client_reference_id, a code in the Ko-fi message).
class TipCode(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    viewer_platform = fields.CharField(max_length=40)
    viewer_id = fields.CharField(max_length=100)
    viewer_name = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        app = "tips"
        table = "tips_code"


# Alerts whose message waits for the streamer in the approval queue.
class PendingAlert(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.IntField(primary_key=True)
    entry_id = fields.BigIntField(null=True)
    kind = fields.CharField(max_length=20)
    # pending, approved, rejected
    status = fields.CharField(max_length=12, default="pending", db_index=True)
    name = fields.CharField(max_length=200, default="")
    amount = fields.CharField(max_length=40, default="")
    message = fields.TextField(default="")
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    test = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        app = "tips"
        table = "tips_pending_alert"


# Small pieces of state that must survive a restart: the stream start, the TTS kill switch.
class TipsState(Model):
    _no_comments = True  # no source read at import (see the top)
    key = fields.CharField(max_length=60, primary_key=True)
    value: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        app = "tips"
        table = "tips_state"
