"""What the dashboard's action editors offer to pick from: ``GET /api/milestones/choices``.

Why: a milestone or a challenge's reward can switch an OBS scene, show a source, play an
alert in a given look, award a badge, unlock a command or grant a VIP tier, and each is
named by a string that must match something in OBS or in a plugin. A streamer should pick
those names, not remember how they are spelled. They are suggestions, read when a page
opens: the editor takes any text too (OBS may be closed while the form is open, a scene may
be made later), and what is saved is validated by the plugin that owns the milestones.

OBS is asked only when it is connected, with a short wait, so the page never hangs on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from ..context import Services
from ..obs.errors import ObsError
from .keys import SERVICES

#: Seconds the choices wait for OBS's lists before leaving them out.
OBS_WAIT = 2.0


@runtime_checkable
class _Tier(Protocol):
    name: str
    label: str


@runtime_checkable
class _Tiers(Protocol):
    """The part of the VIP plugin's documented API (``Memberships.tiers``) read here; the
    core never imports a plugin, so it asks for this shape."""

    def tiers(self) -> Sequence[_Tier]: ...


async def obs_choices(services: Services) -> dict[str, Any]:
    """``{"connected", "scenes", "sources", "text_sources"}`` of the main OBS connection."""
    out: dict[str, Any] = {"connected": False, "scenes": [], "sources": [], "text_sources": []}
    obs = services.obs
    if obs is None or not obs.enabled or not obs.is_connected():
        return out
    try:
        async with asyncio.timeout(OBS_WAIT):
            scenes = await obs.request("GetSceneList")
            inputs = await obs.request("GetInputList")
    except (ObsError, TimeoutError):
        return out
    # OBS lists scenes bottom first; the dashboard shows them as OBS's scene dock does.
    out["connected"] = True
    out["scenes"] = [s["sceneName"] for s in reversed(scenes.get("scenes", []))]
    found = inputs.get("inputs", [])
    out["sources"] = sorted(i["inputName"] for i in found)
    out["text_sources"] = sorted(
        i["inputName"] for i in found if str(i.get("inputKind", "")).startswith("text_")
    )
    return out


def alert_choices(services: Services) -> dict[str, dict[str, list[str]]]:
    """``{overlay: {"kinds": [...], "looks": [...]}}`` for every overlay that plays alerts."""
    overlays = services.overlays
    if overlays is None:
        return {}
    out: dict[str, dict[str, list[str]]] = {}
    for spec in overlays.specs():
        if not spec.alerts:
            continue
        # "default" is every kind's own look, which an empty look already means
        book = overlays.book(spec.name)
        looks = sorted({v.name for v in book.all() if v.name and v.name != "default"})
        out[spec.name] = {"kinds": [k.kind for k in spec.alerts], "looks": looks}
    return out


async def choices(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    vip = services.host.peer("vip", _Tiers)  # type: ignore[type-abstract]  # a protocol
    router = services.chat.router if services.chat is not None else None
    return web.json_response(
        {
            "obs": await obs_choices(services),
            "alerts": alert_choices(services),
            "badges": [
                {"name": b.name, "label": b.label, "icon": b.icon}
                for _, b in services.badges.registry.items()
            ],
            "tiers": [{"name": t.name, "label": t.label} for t in vip.tiers()] if vip else [],
            "commands": sorted(c.name for c in router.commands.values() if c.locked)
            if router is not None
            else [],
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/milestones/choices", choices)
