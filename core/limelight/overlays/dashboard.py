"""Dashboard pages for overlays: every registered overlay's OBS URL and size, the queue
controls (pause, resume, skip, clear, test alert) of each overlay that plays alerts, and
its recent alerts with a replay button.

The pages are server-rendered; ``/-/static/overlays-admin.js`` drives the buttons through
the admin API (``/api/overlays/...``) with the session cookie and refreshes the status.
"""

from __future__ import annotations

from aiohttp import web

from ..activity import Describer
from ..web.dashboard import render, require_session
from ..web.keys import HOST, SETTINGS
from .routes import overlay_url, preview_path, service_of


async def overlays_page(request: web.Request) -> web.Response:
    require_session(request, "moderator")
    service = service_of(request)
    settings = request.app[SETTINGS]
    words = Describer(settings.server.locale, request.app[HOST])
    overlays = []
    for spec in service.specs():
        channel = service.channel(spec.name)
        overlays.append(
            {
                "name": spec.name,
                "title": spec.title or spec.name,
                "description": spec.description,
                "width": spec.width,
                "height": spec.height,
                "url": overlay_url(settings, spec.name),
                "preview": preview_path(settings, spec.name),
                "kinds": [{"kind": k.kind, "label": words.kind_label(k)} for k in spec.alerts],
                "clients": channel.status()["clients"],
                "paused": channel.paused,
                "pending": await service.pending(spec.name),
            }
        )
    return render(
        request,
        "admin/overlays.html",
        {"overlays": overlays, "replay_max_age": settings.overlays.replay_max_age},
    )


async def overlay_detail(request: web.Request) -> web.Response:
    require_session(request, "moderator")
    service = service_of(request)
    name = request.match_info["name"]
    spec = service.spec(name)
    if spec is None:
        raise web.HTTPNotFound()
    settings = request.app[SETTINGS]
    words = Describer(settings.server.locale, request.app[HOST])
    channel = service.channel(name)
    return render(
        request,
        "admin/overlays_detail.html",
        {
            "overlay": {
                "name": spec.name,
                "title": spec.title or spec.name,
                "description": spec.description,
                "width": spec.width,
                "height": spec.height,
                "url": overlay_url(settings, spec.name),
                "events": list(spec.events),
                "kinds": [{"kind": k.kind, "label": words.kind_label(k)} for k in spec.alerts],
            },
            "status": channel.status(),
            "pending": await service.pending(name),
            "history": await service.history(name, 100),
            "labels": {k.kind: words.kind_label(k) for k in spec.alerts},
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/overlays", overlays_page, name="admin-overlays")
    app.router.add_get("/admin/overlays/{name}", overlay_detail, name="admin-overlay")
