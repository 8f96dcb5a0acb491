"""Overlay HTTP routes: the pages OBS loads, their WebSocket, the theme CSS, the admin API.

Pages: ``/overlays/<name>?token=<overlay_token>`` (401 without a token, 403 with a wrong
one, and no data either way). Each page carries a Content-Security-Policy that allows no
inline script and no connection or resource outside this server, so even a viewer's text
that slipped past escaping could neither run nor phone home.

Admin API (Bearer admin token, or the dashboard session):

=======================================  ===============================================
``GET  /api/overlays``                   every overlay: URL, size, clients, queue
``GET  /api/overlays/<name>``            one overlay with its recent alerts
``POST /api/overlays/<name>/pause``      hold the queue after the alert on screen
``POST /api/overlays/<name>/resume``     play the queue again
``POST /api/overlays/<name>/skip``       skip the alert on screen, or ``{"id": N}``
``POST /api/overlays/<name>/clear``      drop every alert not shown yet
``POST /api/overlays/<name>/test``       a test alert, ``{"kind": "raid"}`` (optional)
``POST /api/overlays/<name>/replay/<id>`` show a past alert again
``POST /api/overlays/<name>/alerts``     push an alert: ``{"kind", "data", "test"}``
``POST /api/overlays/<name>/state``      set a snapshot: ``{"key", "data"}``
``GET  /api/overlays/-/kinds``           the alert kinds each overlay declared it plays
=======================================  ===============================================

Nothing here knows an overlay by name: plugins register them, and the queue and test
controls apply to whichever overlay declares the kinds of alert it plays.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from ..web.api import for_moderators
from ..web.auth import require_overlay
from ..web.errors import ApiError
from ..web.keys import HOST, SERVICES, SETTINGS
from ..web.security import overlay_csp, secure
from .service import OverlayError, OverlayService
from .websocket import websocket_handler

log = logging.getLogger("limelight.overlays")

THEME_CSS = "/-/overlays/theme.css"

_VAR_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_VAR_VALUE = re.compile(r"^[A-Za-z0-9 #%.,()'\"+\-/_]{0,200}$")


def service_of(request: web.Request) -> OverlayService:
    service = request.app[SERVICES].overlays
    if service is None:
        raise ApiError(503, "the overlay service is not running")
    return service


def overlay_url(settings: Any, name: str) -> str:
    token = quote(settings.security.overlay_token, safe="")
    return f"{settings.base_url()}/overlays/{name}?token={token}"


def preview_path(settings: Any, name: str) -> str:
    """The overlay in preview mode, as a path on the server the dashboard was opened at (a
    dashboard preview must load whatever address the browser reached us by)."""
    token = quote(settings.security.overlay_token, safe="")
    return f"/overlays/{name}?token={token}&preview=1"


def theme_variables(theme: dict[str, str]) -> list[tuple[str, str]]:
    """``[overlays.theme]`` as CSS custom properties; unsafe names or values are skipped
    (no ``url(...)``: overlay pages load nothing from elsewhere)."""
    out = []
    for key, value in sorted(theme.items()):
        name = key.strip().lower().replace("_", "-")
        value = str(value).strip()
        if not _VAR_NAME.match(name) or not _VAR_VALUE.match(value) or "url(" in value.lower():
            log.warning(
                "[overlays.theme] %s: skipped (use letters, digits, #, %%, commas, "
                "quotes and parentheses only; no url())",
                key,
            )
            continue
        out.append((name, value))
    return out


# -- pages -------------------------------------------------------------------------------


async def overlay_page(request: web.Request) -> web.StreamResponse:
    require_overlay(request, request.app[SETTINGS])
    name = request.match_info["name"]
    service = service_of(request)
    spec = service.spec(name)
    if spec is None:
        raise web.HTTPNotFound()
    settings = request.app[SETTINGS]
    owner = request.app[HOST].overlays.owner_of(name)
    context = {
        "overlay": spec,
        "theme_css": THEME_CSS,
        # Where the owning plugin's static/ folder is served, for the page's own files.
        "plugin_static": f"/-/static-plugins/{owner}/" if owner else "",
        "alerts": settings.overlays.alerts_of(name),
        "query": dict(request.query),
        # The dashboard's preview iframes: placeholders and the connection state show.
        "preview": request.query.get("preview", "") in ("1", "true", "yes"),
        "image_hosts": " ".join(settings.overlays.image_hosts),
    }
    response = aiohttp_jinja2.render_template(spec.template, request, context)
    return secure(response, csp=overlay_csp(settings.overlays.image_hosts))


async def theme_css(request: web.Request) -> web.Response:
    theme = request.app[SETTINGS].overlays.theme
    lines = [f"  --ll-{name}: {value};" for name, value in theme_variables(theme)]
    body = ":root {\n" + "\n".join(lines) + "\n}\n"
    return secure(web.Response(text=body, content_type="text/css"), csp=None, cache="no-cache")


# -- admin API -----------------------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise ApiError(415, "send JSON with Content-Type: application/json")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if not service_of(request).exists(name):
        raise ApiError(404, f"no overlay named {name!r}")
    return name


async def _describe(request: web.Request, name: str) -> dict[str, Any]:
    service = service_of(request)
    spec = service.spec(name)
    assert spec is not None
    settings = request.app[SETTINGS]
    return {
        "name": spec.name,
        "title": spec.title or spec.name,
        "description": spec.description,
        "owner": request.app[HOST].overlays.owner_of(name),
        "width": spec.width,
        "height": spec.height,
        "events": list(spec.events),
        "alert_kinds": [k.kind for k in spec.alerts],
        "url": overlay_url(settings, spec.name),
        "pending": await service.pending(name),
        **service.channel(name).status(),
    }


async def list_overlays(request: web.Request) -> web.Response:
    service = service_of(request)
    overlays = [await _describe(request, spec.name) for spec in service.specs()]
    return web.json_response({"overlays": overlays, "boot": service.boot})


async def get_overlay(request: web.Request) -> web.Response:
    name = _name(request)
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    if not 1 <= limit <= 500:
        raise ApiError(400, "limit must be between 1 and 500")
    body = await _describe(request, name)
    body["history"] = await service_of(request).history(name, limit)
    return web.json_response(body)


async def pause(request: web.Request) -> web.Response:
    await service_of(request).pause(_name(request))
    return web.json_response({"paused": True})


async def resume(request: web.Request) -> web.Response:
    await service_of(request).resume(_name(request))
    return web.json_response({"paused": False})


async def skip(request: web.Request) -> web.Response:
    name = _name(request)
    body = await _body(request)
    alert_id = body.get("id")
    if alert_id is not None and (not isinstance(alert_id, int) or isinstance(alert_id, bool)):
        raise ApiError(400, "id must be an alert id (an integer)")
    changed = await service_of(request).skip(name, alert_id)
    return web.json_response({"skipped": alert_id, "changed": changed})


async def clear(request: web.Request) -> web.Response:
    cleared = await service_of(request).clear(_name(request))
    return web.json_response({"cleared": cleared})


async def test_alert(request: web.Request) -> web.Response:
    name = _name(request)
    body = await _body(request)
    kind = body.get("kind")
    data = body.get("data")
    if (kind is not None and not isinstance(kind, str)) or (
        data is not None and not isinstance(data, dict)
    ):
        raise ApiError(400, "kind must be a string and data an object")
    draft = None
    if body.get("variation") is not None:  # the alert editor's unsaved design
        if not isinstance(kind, str):
            raise ApiError(400, "a test of a draft variation names its kind")
        try:
            draft = service_of(request).draft(name, kind, body["variation"])
        except OverlayError as exc:
            raise ApiError(400, str(exc)) from None
    try:
        alert_id = await service_of(request).test_alert(name, kind, data, draft)
    except OverlayError as exc:
        raise ApiError(400, str(exc)) from None
    return web.json_response({"id": alert_id, "test": True}, status=201)


async def replay(request: web.Request) -> web.Response:
    name = _name(request)
    try:
        alert_id = int(request.match_info["id"])
    except ValueError:
        raise ApiError(400, "the alert id must be an integer") from None
    service = service_of(request)
    original = await service.outbox.get(alert_id)
    if original is None or original.overlay != name:
        raise ApiError(404, f"overlay {name!r} has no alert {alert_id}")
    new_id = await service.replay(alert_id)
    return web.json_response({"id": new_id, "replay_of": alert_id}, status=201)


async def push_alert(request: web.Request) -> web.Response:
    name = _name(request)
    body = await _body(request)
    kind, data = body.get("kind"), body.get("data", {})
    test = body.get("test", False)
    duration = body.get("duration_ms")
    if not isinstance(kind, str) or not isinstance(data, dict) or not isinstance(test, bool):
        raise ApiError(400, 'send {"kind": str, "data": object, "test": bool}')
    if duration is not None and (not isinstance(duration, int) or not 0 < duration <= 120_000):
        raise ApiError(400, "duration_ms must be an integer between 1 and 120000")
    try:
        alert_id = await service_of(request).alert(
            name, kind=kind, data=data, test=test, duration_ms=duration
        )
    except OverlayError as exc:
        raise ApiError(400, str(exc)) from None
    return web.json_response({"id": alert_id, "test": test}, status=201)


async def put_state(request: web.Request) -> web.Response:
    name = _name(request)
    body = await _body(request)
    key, data = body.get("key"), body.get("data")
    if not isinstance(key, str) or not key or not isinstance(data, dict):
        raise ApiError(400, 'send {"key": str, "data": object}')
    try:
        await service_of(request).set_state(name, key, data)
    except OverlayError as exc:
        raise ApiError(400, str(exc)) from None
    return web.json_response({"key": key})


async def alert_kinds(request: web.Request) -> web.Response:
    service = service_of(request)
    kinds = {spec.name: [k.kind for k in spec.alerts] for spec in service.specs() if spec.alerts}
    return web.json_response({"kinds": kinds})


MEDIA = "/-/media/"


def media_dir(settings: Any) -> Path | None:
    """``<theme_dir>/static``: the streamer's own images and sounds, served at /-/media/."""
    if not settings.overlays.theme_dir:
        return None
    folder = Path(settings.overlays.theme_dir)
    if not folder.is_absolute():
        folder = settings.base_dir / folder
    folder = folder / "static"
    return folder if folder.is_dir() else None


def setup(app: web.Application) -> None:
    """Add the overlay routes (the WebSocket before ``/overlays/{name}``)."""
    router = app.router
    media = media_dir(app[SETTINGS])
    if media is not None:
        router.add_static(MEDIA, media, name="overlay-media")
    router.add_get("/overlays/ws", websocket_handler, name="overlay-ws")
    router.add_get("/overlays/{name}", overlay_page, name="overlay")
    router.add_get(THEME_CSS, theme_css, name="overlay-theme-css")
    router.add_get("/api/overlays", list_overlays)
    router.add_get("/api/overlays/-/kinds", alert_kinds)
    router.add_get("/api/overlays/{name}", get_overlay)
    router.add_post("/api/overlays/{name}/pause", pause)
    router.add_post("/api/overlays/{name}/resume", resume)
    router.add_post("/api/overlays/{name}/skip", skip)
    router.add_post("/api/overlays/{name}/clear", clear)
    router.add_post("/api/overlays/{name}/test", test_alert)
    router.add_post("/api/overlays/{name}/replay/{id}", replay)
    router.add_post("/api/overlays/{name}/alerts", push_alert)
    router.add_post("/api/overlays/{name}/state", put_state)
    # Queue controls are a moderator's job too; pushing alerts and state is the streamer's.
    for_moderators(
        app,
        *(r for r in router.routes() if r.resource and r.resource.canonical in MODERATOR_PATHS),
    )


#: The overlay API paths a moderator may call (reading overlays, the queue controls).
MODERATOR_PATHS = frozenset(
    {
        "/api/overlays",
        "/api/overlays/-/kinds",
        "/api/overlays/{name}",
        "/api/overlays/{name}/pause",
        "/api/overlays/{name}/resume",
        "/api/overlays/{name}/skip",
        "/api/overlays/{name}/clear",
        "/api/overlays/{name}/test",
        "/api/overlays/{name}/replay/{id}",
    }
)
