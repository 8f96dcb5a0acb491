"""The admin JSON API: ``/api/...`` (Bearer admin token) and ``/-/plugins.json``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import edge
from ..events import EventError
from ..models import EventRecord
from ..wire import event_from_wire, known_types, record_to_wire
from .auth import require_admin
from .errors import ApiError
from .keys import HOST, PLUGIN_ROUTES, SERVICES, SETTINGS

MAX_LIMIT = 500

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def admin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The core's admin API is everything under ``/api/`` (and ``/-/plugins.json``); an
    unknown path there is refused before it can say whether it exists. A plugin's route is
    guarded by the auth it declared (``Route.auth``), whatever its path: a ``public`` route
    under ``/api/`` is public."""
    if request.path.startswith("/api/") or request.path == "/-/plugins.json":
        if request.match_info.route not in request.app[PLUGIN_ROUTES]:
            require_admin(request, request.app[SETTINGS])
    return await handler(request)


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
    accepted = await request.app[SERVICES].bus.publish(event, immediate=True)
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
    records = await query.order_by("-id").limit(limit)
    return web.json_response({"events": [record_to_wire(r) for r in records]})


async def plugins_json(request: web.Request) -> web.Response:
    return web.json_response({"plugins": request.app[HOST].list_json()})


def setup(app: web.Application) -> None:
    app.middlewares.append(admin_middleware)
    app.router.add_post("/api/events", post_event)
    app.router.add_get("/api/events", list_events)
    app.router.add_get("/-/plugins.json", plugins_json)
