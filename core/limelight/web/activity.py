"""``GET /api/activity``: the event log in words, for the dashboard's activity feed.

Like ``GET /api/events`` (same filters: ``type``, ``test``, ``limit``, ``before``), but each
event carries its :class:`~limelight.activity.Line` (icon, label, sentence, the viewer's
own words as ``detail``) instead of raw data, and the alerts it played (``alerts``: overlay
and alert id) so the feed can replay them. ``types`` lists every known type with its label
for the feed's filter. No internal ids or raw JSON reach the page from here, except the
alert ids the replay buttons send back.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..activity import Describer
from ..models import EventRecord, OverlayAlert
from ..wire import known_types
from .api import MAX_LIMIT, _listed, for_moderators
from .errors import ApiError
from .keys import HOST, SERVICES, SETTINGS


def describer(request: web.Request) -> Describer:
    return Describer(request.app[SETTINGS].server.locale, request.app[HOST])


async def activity(request: web.Request) -> web.Response:
    host = request.app[HOST]
    query = EventRecord.all()
    etype = request.query.get("type")
    if etype:
        if etype not in known_types(host):
            raise ApiError(400, f"unknown event type {etype!r}")
        query = query.filter(type=etype)
    test = request.query.get("test")
    if test is not None:
        if test not in ("true", "false"):
            raise ApiError(400, "test must be true or false")
        query = query.filter(test=test == "true")
    try:
        limit = int(request.query.get("limit", "50"))
        before = int(request.query["before"]) if "before" in request.query else None
    except ValueError:
        raise ApiError(400, "limit and before must be integers") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}")
    if before is not None:
        query = query.filter(id__lt=before)
    await request.app[SERVICES].bus.flush()
    rows = await _listed(query.order_by("-id").limit(limit))
    alerts: dict[int, list[dict[str, Any]]] = {}
    ids = [r["id"] for r in rows]
    if ids:
        for alert_id, overlay, event_id in await OverlayAlert.filter(
            event_id__in=ids, replay_of=None
        ).values_list("id", "overlay", "event_id"):
            alerts.setdefault(int(str(event_id)), []).append({"overlay": overlay, "id": alert_id})
    words = describer(request)
    events = []
    for row in rows:
        line = words.describe(row)
        viewer = row.get("viewer")
        events.append(
            {
                "id": row["id"],
                "type": row["type"],
                "occurred_at": row["occurred_at"],
                "test": row["test"],
                "viewer": viewer.get("name", "") if isinstance(viewer, dict) else "",
                **line.to_json(),
                "alerts": alerts.get(row["id"], []),
                **({"problem": row["problem"]} if "problem" in row else {}),
            }
        )
    return web.json_response({"events": events, "types": words.types(known_types(host))})


def setup(app: web.Application) -> None:
    # Moderators see the Overview too, so they read the feed (replays are queue controls).
    for_moderators(app, app.router.add_get("/api/activity", activity))
