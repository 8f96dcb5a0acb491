"""The room plugin's tables (tortoise app ``room``).

No class docstrings on models: tortoise writes them into the schema as unescaped SQL
comments. Comments above each class say why it exists instead.
"""

from __future__ import annotations

import functools
from json import dumps, loads

from tortoise import fields
from tortoise.models import Model

_compact = functools.partial(dumps, separators=(",", ":"))


# The server's signing key for room links: generated once (32 random bytes, hex) and kept
# here, so links survive restarts and rotating the admin token does not revoke them all.
class RoomKey(Model):
    _no_comments = True  # no source read at import (tortoise looks for #: comments)
    id = fields.IntField(primary_key=True)
    secret = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "room"
        table = "room_key"


# One row per viewer the room knows: the link generation (revoking a link bumps it, so
# every older link stops working), a time-out from the room, the last name seen.
class RoomPass(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=40)
    viewer_id = fields.CharField(max_length=100)
    name = fields.CharField(max_length=200, default="")
    generation = fields.IntField(default=0)
    muted_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        app = "room"
        table = "room_pass"
        unique_together = (("platform", "viewer_id"),)


# An exclusive post: Markdown as the streamer wrote it (rendered and sanitised when shown),
# visible to the listed tiers (empty: every room tier).
class Post(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    tiers: fields.JSONField[list[str]] = fields.JSONField(
        default=list, encoder=_compact, decoder=loads
    )
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    announced_at = fields.DatetimeField(null=True)

    class Meta:
        app = "room"
        table = "room_post"


# One room line as members saw it (the JSON the page draws: name, fragments, badges), so
# the room's history survives a restart. Kept to the newest ``history`` lines; a deleted
# line (a moderator, a time-out) is deleted here too. ``viewer`` is "platform:id" ("" for
# the bot) so a time-out can delete every line of one member.
class RoomLine(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    line_id = fields.CharField(max_length=200, db_index=True)
    viewer = fields.CharField(max_length=150, default="", db_index=True)
    data: fields.JSONField[dict[str, object]] = fields.JSONField(
        default=dict, encoder=_compact, decoder=loads
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        app = "room"
        table = "room_line"
