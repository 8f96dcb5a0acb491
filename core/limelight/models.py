"""Core tables: viewers with their platform identities, and the event log.

A viewer is a person; an identity is how one platform knows them. One viewer may hold
identities on several platforms (linked through a signed tip link or by the streamer), so
their tips, badges and memberships follow them across platforms.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

# Every model here sets ``_no_comments = True`` (as tortoise's own migration-state models
# do): without it tortoise reads the model's source file with ``inspect.getsource`` when
# the class is created, looking for ``#:`` field comments (there are none; descriptions,
# if ever wanted, go in ``description=``), about 3 ms a model at every start-up.


class Viewer(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.IntField(primary_key=True)
    display_name = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    # The viewer asked not to have their name shown on stream.
    hide_name = fields.BooleanField(default=False)

    identities: fields.ReverseRelation[ViewerIdentity]

    class Meta:
        app = "limelight"
        table = "limelight_viewer"


class ViewerIdentity(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.IntField(primary_key=True)
    viewer: fields.ForeignKeyRelation[Viewer] = fields.ForeignKeyField(
        "limelight.Viewer", related_name="identities", on_delete=fields.CASCADE
    )
    platform = fields.CharField(max_length=40)
    platform_id = fields.CharField(max_length=100)
    name = fields.CharField(max_length=200, default="")
    last_seen = fields.DatetimeField(auto_now=True)

    class Meta:
        app = "limelight"
        table = "limelight_viewer_identity"
        unique_together = (("platform", "platform_id"),)


#: Characters of the event log's dedupe key (its column's size).
DEDUPE_ID_CHARS = 200


# The event log. ``dedupe_id`` is the source id for real events and NULL for test events,
# so the unique ``(source, dedupe_id)`` dedupes real deliveries in the database while a
# simulated event can never block a real one; a chat line's key has its time in front
# (limelight.bus.log_dedupe_id). (No class docstring: tortoise writes it into the schema as
# a table comment without escaping quotes.)
class EventRecord(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.BigIntField(primary_key=True)
    type = fields.CharField(max_length=80, db_index=True)
    source = fields.CharField(max_length=80)
    source_id = fields.CharField(max_length=200)
    dedupe_id = fields.CharField(max_length=DEDUPE_ID_CHARS, null=True)
    test = fields.BooleanField(default=False)
    occurred_at = fields.DatetimeField()
    received_at = fields.DatetimeField(auto_now_add=True)
    viewer_platform = fields.CharField(max_length=40, null=True)
    viewer_id = fields.CharField(max_length=100, null=True)
    viewer_name = fields.CharField(max_length=200, null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)
    # Set once every plugin has seen the event; money events still false at startup
    # (the server died between the commit and the dispatch) are dispatched again.
    handled = fields.BooleanField(default=False)
    # Plugins (comma-separated) whose record_events failed for this event: the core writes
    # their part again before their on_event, and at the next start.
    unrecorded = fields.CharField(max_length=500, default="", db_default="")

    class Meta:
        app = "limelight"
        table = "limelight_event"
        unique_together = (("source", "dedupe_id"),)


# The durable overlay outbox: one row per alert pushed to an overlay (test alerts stay in
# memory). Pages resume after the last id they showed; ``(overlay, event_id, kind)`` is
# unique so an event dispatched again after a restart never queues a second alert.
class OverlayAlert(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.BigIntField(primary_key=True)
    overlay = fields.CharField(max_length=80, db_index=True)
    kind = fields.CharField(max_length=80)
    data: dict[str, Any] = fields.JSONField(default=dict)
    variation: dict[str, Any] | None = fields.JSONField(null=True)
    duration_ms = fields.IntField(default=0)
    created_at = fields.DatetimeField(db_index=True)
    event_id = fields.BigIntField(null=True)
    replay_of = fields.BigIntField(null=True)
    # queued, shown, skipped or cleared
    status = fields.CharField(max_length=16, default="queued")
    shown_at = fields.DatetimeField(null=True)

    class Meta:
        app = "limelight"
        table = "limelight_overlay_alert"
        unique_together = (("overlay", "event_id", "kind"),)


# Queue controls an operator set on an overlay that must outlive a restart: an overlay
# paused during a sensitive moment stays paused when the server or OBS comes back.
class OverlaySetting(Model):
    _no_comments = True  # no source read at import (see the top)
    overlay = fields.CharField(max_length=80, primary_key=True)
    paused = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        app = "limelight"
        table = "limelight_overlay_setting"


# Alert designs saved in the dashboard's alert editor: per overlay and alert kind, the list
# of variations (tiers) that replaces the ``[[overlays.<overlay>.variations]]`` of that kind
# from config.toml. Kinds with no row keep the config's variations (the defaults).
class AlertDesign(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.IntField(primary_key=True)
    overlay = fields.CharField(max_length=80)
    kind = fields.CharField(max_length=80)
    variations: list[dict[str, Any]] = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        app = "limelight"
        table = "limelight_alert_design"
        unique_together = (("overlay", "kind"),)


# Dashboard logins, kept on the server so logging out ends them. ``key`` is a keyed hash of
# the random id in the browser's cookie (the id itself is never stored, so a copy of the
# database opens no dashboard), keyed with the admin token, so rotating the token ends every
# session. Expired rows are deleted at the next login.
class DashboardSession(Model):
    _no_comments = True  # no source read at import (see the top)
    key = fields.CharField(max_length=64, primary_key=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    # ``admin`` (the streamer) or ``moderator`` (a login made from an invite link)
    role = fields.CharField(max_length=16, default="admin", db_default="admin")
    # the moderator this session belongs to (``role == "moderator"``); revoking them
    # deletes their sessions
    moderator_id = fields.IntField(null=True, db_index=True)

    class Meta:
        app = "limelight"
        table = "limelight_session"


# A moderator's own dashboard login, made from an invite link. ``password_hash`` is
# ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``; the password itself is never stored.
# ``revoked_at`` set: the login no longer works (its sessions were deleted with it).
class Moderator(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40, unique=True)
    password_hash = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()
    last_login = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        app = "limelight"
        table = "limelight_moderator"


# An invite link for a moderator. The link carries a random secret; ``key`` is its HMAC
# keyed with the admin token (as sessions are), so the database alone opens nothing and
# rotating the admin token voids every open invite. An invite works once (``used_at``),
# until ``expires_at``, and not after the streamer revoked it (``revoked_at``).
class ModeratorInvite(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=40)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    moderator_id = fields.IntField(null=True)

    class Meta:
        app = "limelight"
        table = "limelight_moderator_invite"


# The quarantine: money deliveries that can never be recorded as they are (a value the
# database refuses, a plugin that raises on this input every time) and event-log rows that
# cannot be read back. The provider was answered 4xx (never 2xx), the server keeps running,
# and the streamer sees here what was paid, by whom and why it is not in the ledger.
# ``event_id`` is the event-log row when the event itself was stored; a retry of the same
# delivery (same ``source`` and ``source_id``) updates the entry instead of adding one.
# Every text column holds cleaned text (no NUL, no lone surrogate) capped to its size.
class QuarantineEntry(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.BigIntField(primary_key=True)
    source = fields.CharField(max_length=80)
    source_id = fields.CharField(max_length=200)
    type = fields.CharField(max_length=80, default="")
    # major units as the provider sent them ("5.00"), and the currency code, when known
    amount = fields.CharField(max_length=40, default="")
    currency = fields.CharField(max_length=16, default="")
    payer = fields.CharField(max_length=200, default="")
    event_id = fields.BigIntField(null=True, db_index=True)
    # store: the event could not be stored; record: a money plugin could not write its
    # rows; replay: a stored row could not be read or handled at startup
    stage = fields.CharField(max_length=16)
    # the plugins that could not write their rows (comma-separated)
    plugins = fields.CharField(max_length=500, default="")
    error = fields.TextField()
    payload = fields.TextField()
    attempts = fields.IntField(default=1)
    first_seen = fields.DatetimeField()
    last_seen = fields.DatetimeField()
    # set when the streamer has dealt with it (recorded it by hand, refunded it)
    dismissed_at = fields.DatetimeField(null=True)

    class Meta:
        app = "limelight"
        table = "limelight_quarantine"
        unique_together = (("source", "source_id"),)


# Milestone claims (limelight.milestones): one row per milestone of a ladder that has fired.
# The unique ``(owner, ladder, at)`` is what makes a milestone fire exactly once whatever
# the concurrency and however often the server restarts. ``actions`` is the milestone's
# actions as they were when it fired (editing the ladder later changes nothing already
# fired), ``progress`` what became of each ("" still to run, "started", "done", or a
# sentence for one skipped or given up), ``done_at`` is set once every action is settled.
class MilestoneClaim(Model):
    _no_comments = True  # no source read at import (see the top)
    id = fields.BigIntField(primary_key=True)
    owner = fields.CharField(max_length=80)
    ladder = fields.CharField(max_length=200)
    at = fields.BigIntField()
    label = fields.CharField(max_length=200, default="")
    fired_at = fields.DatetimeField()
    actions: list[dict[str, Any]] = fields.JSONField(default=list)
    values: dict[str, Any] = fields.JSONField(default=dict)
    contributors: list[dict[str, str]] = fields.JSONField(default=list)
    progress: list[str] = fields.JSONField(default=list)
    done_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        app = "limelight"
        table = "limelight_milestone"
        unique_together = (("owner", "ladder", "at"),)
