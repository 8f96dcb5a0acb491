"""The charity plugin's tables (tortoise app ``charity``).

No class docstrings on models: tortoise writes them into the schema as unescaped SQL
comments. Comments above each class say why it exists instead.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


# A fundraiser: a cause, a goal in one currency, a window and a ladder of milestones.
# Campaigns from [[plugins.charity.campaigns]] are written here at every start (the config
# wins for those); the dashboard creates and edits the others.
class Campaign(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=60, unique=True)
    title = fields.CharField(max_length=200)
    cause = fields.CharField(max_length=200)
    cause_url = fields.CharField(max_length=500)
    goal_minor = fields.BigIntField()
    currency = fields.CharField(max_length=8)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    # the MilestoneSpec list, as JSON (validated on the way in)
    milestones: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    # units of ``currency`` for one unit of another currency: {"USD": "0.92"}
    rates: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    # Tiltify's campaign id: its donations count here whatever the time
    tiltify_campaign_id = fields.CharField(max_length=100, default="")
    # config or dashboard
    origin = fields.CharField(max_length=20, default="dashboard")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "charity"
        table = "charity_campaign"


# The donation ledger: append-only, one row per money movement, in integer minor units.
# (provider, provider_id) is the event's dedupe key and UNIQUE, so a replayed delivery
# never writes twice. A refund is its own negative row pointing at the row it reverses.
# ``counted_minor`` is the amount in the campaign's currency at the rate of the day (0 and
# ``converted`` false when there was no rate); ``converted`` says a rate was applied.
class CharityEntry(Model):
    _no_comments = True
    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "charity.Campaign", related_name="entries", on_delete=fields.RESTRICT
    )
    provider = fields.CharField(max_length=80)
    provider_id = fields.CharField(max_length=200)
    # donation, tip or refund
    kind = fields.CharField(max_length=20)
    # where it came from: tiltify, twitch, tips, manual
    channel = fields.CharField(max_length=40, default="")
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=8)
    counted_minor = fields.BigIntField()
    converted = fields.BooleanField(default=False)
    unconverted = fields.BooleanField(default=False)
    rate = fields.CharField(max_length=40, default="")
    viewer_platform = fields.CharField(max_length=40, default="")
    viewer_id = fields.CharField(max_length=100, default="")
    viewer_name = fields.CharField(max_length=200, default="")
    anonymous = fields.BooleanField(default=False)
    message = fields.TextField(default="")
    occurred_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    event_id = fields.BigIntField(null=True)
    original: fields.ForeignKeyNullableRelation[CharityEntry] = fields.ForeignKeyField(
        "charity.CharityEntry", related_name="refunds", null=True, on_delete=fields.RESTRICT
    )
    reason = fields.CharField(max_length=200, default="")
    # set once the live reactions (badge, overlay, milestones) went out
    reacted = fields.BooleanField(default=False)

    class Meta:
        app = "charity"
        table = "charity_entry"
        unique_together = (("provider", "provider_id"),)
        # A campaign's sum (``ledger.summed``: a campaign without a running total) from the
        # index alone, and every per-campaign read limited to that campaign's entries, in
        # id order (without it, each scanned the entries of every campaign ever run).
        indexes = (("campaign_id", "id", "counted_minor"),)


# A campaign's running total: the sum of its entries' ``counted_minor``, kept in the
# transaction that writes them (``ledger.add_to_total``), so a batch of donations reads
# one row for the milestones instead of summing every entry of the campaign (a campaign of
# 500,000 donations summed half a million index entries per batch, holding up every other
# commit). Its own table, not a column of ``Campaign``: the config and the dashboard save
# whole campaign rows, and a cached row saved back would write a stale total. A campaign
# without a row (none given yet, or counted before this table) is summed from its entries,
# and gets its row from that sum when its next donation is written.
class CampaignTotal(Model):
    _no_comments = True
    campaign_id = fields.IntField(primary_key=True, generated=False)
    total_minor = fields.BigIntField()

    class Meta:
        app = "charity"
        table = "charity_total"
