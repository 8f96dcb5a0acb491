"""``GET /healthz``: is the server well, and what is wrong if not. Never shows a secret."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from .keys import HOST, SERVICES


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    host = request.app[HOST]
    db = await services.db.status()
    body: dict[str, Any] = {
        "status": "ok" if db.ok else "degraded",
        "version": __version__,
        "db": {"ok": db.ok, "backend": db.backend, "error": db.error},
        "chat": services.chat.status() if services.chat is not None else {"connectors": []},
        "obs": services.obs.status() if services.obs is not None else {"status": "disabled"},
        "overlays": services.overlays.status() if services.overlays is not None else {},
        "plugins": [
            {"name": i.name, "status": i.status, "reason": i.reason}
            for i in sorted(host.info.values(), key=lambda i: i.name)
        ],
        "bus": services.bus.stats(),
    }
    if any(p["status"] == "failed" for p in body["plugins"]) and body["status"] == "ok":
        body["status"] = "degraded"
    return web.json_response(body, status=200 if db.ok else 503)


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
