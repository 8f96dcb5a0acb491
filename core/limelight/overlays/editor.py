"""The alert editor: how each kind of alert looks on an overlay, edited in the dashboard.

Per overlay that plays alerts and per kind (tip, cheer, raid, ...), a list of variations
(tiers): text with ``{placeholders}``, a picture (image, GIF or video) and a sound uploaded
through ``POST /admin/media``, duration, animation and volume, and an optional threshold
(``min_amount`` + ``currency`` or ``min_count``). Saved designs live in the database
(``limelight_alert_design``) and replace that kind's ``[[overlays.<overlay>.variations]]``
from config.toml, which stay the defaults of every kind not edited here; "Reset" goes back
to them. A save applies to the next alert at once, on every open page, without a restart.

=============================================  ===========================================
``GET    /api/overlays/<name>/designs``         every kind: label, sample data, placeholders,
                                                its variations and whether they are saved
``PUT    /api/overlays/<name>/designs/<kind>``  ``{"variations": [...]}``: save them
``DELETE /api/overlays/<name>/designs/<kind>``  back to config.toml's variations
``POST   /api/overlays/<name>/preview``         ``{"kind", "variation"}``: the filled-in
                                                alert (the one filler, the one money
                                                formatter) for the editor's live preview
=============================================  ===========================================

A test alert of a draft: ``POST /api/overlays/<name>/test`` with ``{"kind", "variation"}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..activity import Describer
from ..web.dashboard import render, require_session
from ..web.errors import ApiError
from ..web.keys import HOST, SETTINGS
from .routes import _body, _name, preview_path, service_of
from .service import TEST_SAMPLE, OverlayError
from .variations import ANIMATIONS, COUNT_KEYS, Variation


def _kinds(request: web.Request, name: str) -> list[dict[str, Any]]:
    service = service_of(request)
    book = service.book(name)
    words = Describer(request.app[SETTINGS].server.locale, request.app[HOST])
    out = []
    for declared in service.alert_kinds(name):
        sample = dict(declared.sample or TEST_SAMPLE)
        values = service._text_values(sample, None)
        out.append(
            {
                "kind": declared.kind,
                "label": words.kind_label(declared),
                "builtin_text": declared.text,
                # what a tier without a picture or sound of its own plays ("" in its image
                # or sound; "none" turns them off): the editor says so and previews it
                "default_image": declared.image,
                "default_sound": declared.sound,
                "sample": sample,
                "placeholders": sorted(values),
                "saved": book.has_design(declared.kind),
                "variations": [
                    e.model_dump(mode="json", exclude={"event"})
                    for e in book.entries(declared.kind)
                ],
            }
        )
    return out


async def designs(request: web.Request) -> web.Response:
    name = _name(request)
    service = service_of(request)
    return web.json_response(
        {
            "overlay": name,
            "duration_ms": service.book(name).settings.duration_ms,
            "animations": [a for a in ANIMATIONS if a],
            "kinds": _kinds(request, name),
        }
    )


def _kind(request: web.Request, name: str) -> str:
    kind = request.match_info.get("kind", "")
    if kind not in {k.kind for k in service_of(request).alert_kinds(name)}:
        raise ApiError(404, f"overlay {name!r} plays no {kind!r} alerts")
    return kind


async def save(request: web.Request) -> web.Response:
    name = _name(request)
    kind = _kind(request, name)
    body = await _body(request)
    try:
        await service_of(request).save_design(name, kind, body.get("variations"))
    except OverlayError as exc:
        raise ApiError(400, str(exc)) from None
    return web.json_response({"saved": True, "kinds": _kinds(request, name)})


async def reset(request: web.Request) -> web.Response:
    name = _name(request)
    kind = _kind(request, name)
    await service_of(request).save_design(name, kind, None)
    return web.json_response({"saved": False, "kinds": _kinds(request, name)})


def draft_of(request: web.Request, name: str, body: dict[str, Any]) -> tuple[str, Variation]:
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in {
        k.kind for k in service_of(request).alert_kinds(name)
    }:
        raise ApiError(400, "kind must be one of the kinds this overlay plays")
    try:
        return kind, service_of(request).draft(name, kind, body.get("variation"))
    except OverlayError as exc:
        raise ApiError(400, str(exc)) from None


async def preview(request: web.Request) -> web.Response:
    name = _name(request)
    body = await _body(request)
    kind, variation = draft_of(request, name, body)
    service = service_of(request)
    declared = next(k for k in service.alert_kinds(name) if k.kind == kind)
    sample = at_tier(dict(declared.sample or TEST_SAMPLE), variation)
    return web.json_response(
        {
            "kind": kind,
            "data": sample,
            "variation": variation.to_wire(service._text_values(sample, None)),
        }
    )


def at_tier(sample: dict[str, Any], variation: Variation) -> dict[str, Any]:
    """The sample data raised to the tier being previewed ("From $20": a $20 tip)."""
    if variation.min_amount is not None:
        sample["amount"] = variation.min_amount.to_wire()
        sample["currency"] = variation.min_amount.currency
        sample.pop("display_amount", None)
    if variation.min_count:
        key = next((k for k in COUNT_KEYS if k in sample), "count")
        sample[key] = variation.min_count
    return sample


async def editor_page(request: web.Request) -> web.Response:
    require_session(request)
    service = service_of(request)
    playing = [s for s in service.specs() if s.alerts]
    chosen = request.query.get("overlay") or (playing[0].name if playing else "")
    spec = next((s for s in playing if s.name == chosen), None)
    if playing and spec is None:
        raise web.HTTPNotFound()
    settings = request.app[SETTINGS]
    return render(
        request,
        "admin/alert_editor.html",
        {
            "overlays": [{"name": s.name, "title": s.title or s.name} for s in playing],
            "overlay": None
            if spec is None
            else {
                "name": spec.name,
                "title": spec.title or spec.name,
                "width": spec.width,
                "height": spec.height,
                "preview_url": preview_path(settings, spec.name),
            },
        },
    )


def setup(app: web.Application) -> None:
    router = app.router
    router.add_get("/admin/alerts", editor_page, name="admin-alert-editor")
    router.add_get("/api/overlays/{name}/designs", designs)
    router.add_put("/api/overlays/{name}/designs/{kind}", save)
    router.add_delete("/api/overlays/{name}/designs/{kind}", reset)
    router.add_post("/api/overlays/{name}/preview", preview)
