"""The challenges plugin's tables (tortoise app ``challenges``).

No class docstrings on models: tortoise writes them into the schema as unescaped SQL
comments. Comments above each class say why it exists instead.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

# Every model sets ``_no_comments = True``: tortoise would otherwise read this file's
# source at import looking for ``#:`` field comments.


# A challenge as the streamer set it up (the dashboard's truth). Config tables seed it once,
# by ``key``; edits in the dashboard win from then on. ``milestones`` and ``rewards`` are
# MilestoneSpec / action dicts (limelight.milestones), validated before they are stored.
class Challenge(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=80, unique=True)
    title = fields.CharField(max_length=200)
    metric = fields.CharField(max_length=80)
    target = fields.BigIntField()
    # stream, day, week, month or dates
    window = fields.CharField(max_length=16)
    starts = fields.DatetimeField(null=True)
    ends = fields.DatetimeField(null=True)
    recurring = fields.BooleanField(default=True)
    # creator (the streamer's own goal) or viewer (chat works towards it together)
    audience = fields.CharField(max_length=16, default="creator")
    milestones: list[dict[str, Any]] = fields.JSONField(default=list)
    rewards: list[dict[str, Any]] = fields.JSONField(default=list)
    paused = fields.BooleanField(default=False)
    # shown on the progress overlay
    show = fields.BooleanField(default=True)
    # config or dashboard
    origin = fields.CharField(max_length=16, default="dashboard")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        app = "challenges"
        table = "challenges_challenge"


# One window of a challenge (this week, this stream, the dates): its running total and,
# once the total reached the target, the creator's achievement (``completed_at``). A
# recurring challenge gets a new run for each window; ``(challenge_id, key)`` is unique so
# two processes rolling over at once make one.
class Run(Model):
    _no_comments = True
    id = fields.BigIntField(primary_key=True)
    challenge_id = fields.IntField(db_index=True)
    key = fields.CharField(max_length=80)
    starts = fields.DatetimeField()
    # NULL: open-ended (a stream window until the stream goes offline)
    ends = fields.DatetimeField(null=True)
    total = fields.BigIntField(default=0)
    completed_at = fields.DatetimeField(null=True, db_index=True)
    closed = fields.BooleanField(default=False, db_index=True)

    class Meta:
        app = "challenges"
        table = "challenges_run"
        unique_together = (("challenge_id", "key"),)


# What one event added to one run. Unique per (run, source, source_id): an event
# replayed after a crash, or a chatter's second line for "unique chatters", adds nothing.
# A refund is its own negative row.
class Contribution(Model):
    _no_comments = True
    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField(db_index=True)
    source = fields.CharField(max_length=80)
    source_id = fields.CharField(max_length=200)
    amount = fields.BigIntField()
    viewer_platform = fields.CharField(max_length=40, null=True)
    viewer_id = fields.CharField(max_length=100, null=True)
    viewer_name = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        app = "challenges"
        table = "challenges_contribution"
        unique_together = (("run_id", "source", "source_id"),)


# A stretch of being live, from a stream.online to its stream.offline: what "minutes live"
# counts (only this time, never the time in between). ``online_key`` is the online event's
# (source, source_id), so a replayed online event opens nothing new.
class StreamSpan(Model):
    _no_comments = True
    id = fields.BigIntField(primary_key=True)
    online_key = fields.CharField(max_length=300, unique=True)
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        app = "challenges"
        table = "challenges_stream"
