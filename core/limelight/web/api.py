"""The admin JSON API: ``/api/...`` (Bearer admin token) and ``/-/plugins.json``.

``POST /api/events`` answers as a webhook does (:mod:`limelight.web.webhooks`): 201/200
only once a money event's rows are written, 503 with ``Retry-After`` to retry, 422 for an
event that can never be recorded (a money one is then in the quarantine).

``GET /api/events`` never fails because of one row: a row the ORM cannot read back (a
damaged value, a date out of range) is listed from its raw columns with a ``problem``;
rows in the quarantine or still owed rows by a plugin carry a ``problem`` too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute
from tortoise.queryset import QuerySet

from .. import edge, quarantine
from ..events import EventError
from ..failures import Unrecordable, describe, is_transient
from ..models import EventRecord, QuarantineEntry
from ..wire import event_from_wire, known_types, record_to_wire
from .auth import require_admin, require_moderator
from .errors import ApiError, retry_later
from .keys import HOST, MODERATOR_ROUTES, PLUGIN_ROUTES, SERVICES, SETTINGS

log = logging.getLogger("limelight.api")

MAX_LIMIT = 500

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def admin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The core's admin API is everything under ``/api/`` (and ``/-/plugins.json``); an
    unknown path there is refused before it can say whether it exists. A plugin's route is
    guarded by the auth it declared (``Route.auth``), whatever its path: a ``public`` route
    under ``/api/`` is public. The core routes a moderator may use are listed in
    ``app[MODERATOR_ROUTES]`` (:func:`for_moderators`)."""
    if request.path.startswith("/api/") or request.path == "/-/plugins.json":
        route = request.match_info.route
        if route in request.app[MODERATOR_ROUTES]:
            require_moderator(request, request.app[SETTINGS])
        elif route not in request.app[PLUGIN_ROUTES]:
            require_admin(request, request.app[SETTINGS])
    return await handler(request)


def for_moderators(app: web.Application, *routes: AbstractRoute) -> None:
    """Let moderators call these core ``/api/`` routes too (the rest need the streamer)."""
    app[MODERATOR_ROUTES].update(routes)


async def read_json(request: web.Request) -> Any:
    """The JSON body, read through the edge (:func:`limelight.edge.loads`): malformed,
    non-UTF-8 or too deeply nested JSON is a 400 with the reason, never a 500."""
    if request.content_type != "application/json":
        raise ApiError(415, "send JSON with Content-Type: application/json")
    try:
        return edge.loads(await request.read())
    except edge.EdgeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None


async def post_event(request: web.Request) -> web.Response:
    payload = await read_json(request)
    host = request.app[HOST]
    try:
        event = event_from_wire(payload, host)
    except EventError as exc:
        raise ApiError(400, str(exc)) from None
    try:
        accepted = await request.app[SERVICES].bus.publish(
            event, immediate=True, retryable=True, raw=await request.read()
        )
    except Unrecordable as exc:
        raise ApiError(
            422, f"this event cannot be recorded: {exc.reason}", quarantined=exc.quarantined
        ) from None
    except Exception as exc:
        log.error("POST /api/events: could not store the event (503): %s", exc)
        return retry_later(request, "could not store the event; retry later")
    return web.json_response(
        {"id": accepted.id, "duplicate": accepted.duplicate},
        status=200 if accepted.duplicate else 201,
    )


async def list_events(request: web.Request) -> web.Response:
    query = EventRecord.all()
    etype = request.query.get("type")
    if etype:
        if etype not in known_types(request.app[HOST]):
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
    return web.json_response({"events": await _listed(query.order_by("-id").limit(limit))})


async def _listed(query: QuerySet[EventRecord]) -> list[dict[str, Any]]:
    """The wire form of the rows of ``query``; one that cannot be read is listed from its
    raw columns with a ``problem`` instead of failing the page."""
    out: list[dict[str, Any]] = []
    owed: dict[int, str] = {}
    try:
        records = await query
        for record in records:
            out.append(record_to_wire(record))
            if record.unrecorded:
                owed[record.id] = record.unrecorded
    except Exception as exc:
        _unless_transient(exc)
        log.debug("GET /api/events: reading the rows one by one (%s)", describe(exc))
        out, owed = [], {}
        for found in await query.values_list("id", "unrecorded"):
            event_id, mark = int(str(found[0])), str(found[1] or "")
            try:
                out.append(record_to_wire(await EventRecord.get(id=event_id)))
            except Exception as one:
                _unless_transient(one)
                out.append(await _unreadable(event_id, describe(one)))
                continue
            if mark:
                owed[event_id] = mark
    kept = set(
        await QuarantineEntry.filter(event_id__in=[e["id"] for e in out]).values_list(
            "event_id", flat=True
        )
    )
    for event in out:
        if "problem" in event:
            continue
        if event["id"] in kept:
            event["problem"] = "in the quarantine: see the dashboard's Quarantine page"
        elif event["id"] in owed:
            event["problem"] = (
                f"not yet recorded by {owed[event['id']].replace(',', ', ')}; written again "
                "on the provider's retry or at the next start"
            )
    return out


def _unless_transient(exc: Exception) -> None:
    """A database that does not answer is not a damaged row: 503, not a page of problems."""
    if is_transient(exc):
        raise ApiError(503, "the database did not answer; retry later") from exc


async def _unreadable(event_id: int, error: str) -> dict[str, Any]:
    """What can be shown of an event-log row the ORM cannot read back."""
    row = await quarantine.read_row(event_id)
    return {
        "id": event_id,
        "type": row.get("type", ""),
        "source": row.get("source", ""),
        "source_id": row.get("source_id", ""),
        "occurred_at": row.get("occurred_at", ""),
        "test": row.get("test", "") in ("1", "true", "t"),
        "viewer": None,
        "data": {},
        "problem": f"this row cannot be read: {error}",
    }


async def plugins_json(request: web.Request) -> web.Response:
    return web.json_response({"plugins": request.app[HOST].list_json()})


def setup(app: web.Application) -> None:
    app.middlewares.append(admin_middleware)
    app.router.add_post("/api/events", post_event)
    for_moderators(app, app.router.add_get("/api/events", list_events))
    app.router.add_get("/-/plugins.json", plugins_json)
