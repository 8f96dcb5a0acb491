"""``GET /healthz``: is the server well, and what is wrong if not. Never shows a secret.

``status`` is ``ok`` only when every enabled part works: the database answers *and can
write* (a full disk, a read-only file or server), OBS (when enabled) is connected or
connecting, every chat connector is connected and no plugin failed. Otherwise it is
``degraded`` and ``problems`` says why, one line each. The answer is 503 when the database
cannot be reached or cannot write (nothing can be recorded), 200 otherwise.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from .keys import HOST, SERVICES
from .server import GUARD

#: OBS states that mean an enabled OBS is down (``connecting`` is a start or a retry).
OBS_DOWN = ("unreachable", "auth_failed")


def problems_of(body: dict[str, Any]) -> list[str]:
    """One line per enabled part that is down, from the parts' own status."""
    found = []
    db = body["db"]
    if not db["ok"]:
        found.append(f"database: {db['error'] or 'down'}")
    obs = body["obs"]
    if obs.get("status") in OBS_DOWN:
        found.append(f"obs: {obs['status']}" + (f" ({obs['error']})" if obs.get("error") else ""))
    for connector in body["chat"].get("connectors", []):
        if connector.get("connected") is False:
            error = connector.get("error")
            found.append(
                f"chat {connector.get('name')}: not connected" + (f" ({error})" if error else "")
            )
    for plugin in body["plugins"]:
        if plugin["status"] == "failed":
            found.append(f"plugin {plugin['name']}: failed ({plugin['reason']})")
    return found


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    host = request.app[HOST]
    db = await services.db.status(failed_write=services.bus.writer.failed)
    body: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "db": {"ok": db.ok, "backend": db.backend, "error": db.error, "writable": db.writable},
        "chat": services.chat.status() if services.chat is not None else {"connectors": []},
        "obs": services.obs.status() if services.obs is not None else {"status": "disabled"},
        "overlays": services.overlays.status() if services.overlays is not None else {},
        "plugins": [
            {"name": i.name, "status": i.status, "reason": i.reason}
            for i in sorted(host.info.values(), key=lambda i: i.name)
        ],
        "bus": services.bus.stats(),
    }
    guard = request.app.get(GUARD)
    if guard is not None:  # (``limelight run``; the test kit serves without one)
        body["connections"] = guard.stats()
    body["problems"] = problems_of(body)
    if body["problems"]:
        body["status"] = "degraded"
    return web.json_response(body, status=200 if db.ok else 503)


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
