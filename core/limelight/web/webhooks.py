"""``/webhooks/<provider>``: the one door for payment and tip providers.

The provider (a plugin's :class:`~limelight.registry.WebhookProvider`) verifies the
signature and parses the delivery; this module enforces the body limit and commits every
event it returns before answering 2xx. A delivery the database could not take gets a 503,
so the provider retries and nothing is lost; a replay gets 200 and changes nothing.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ..webhooks import WebhookError
from .errors import ApiError
from .keys import HOST, SERVICES

log = logging.getLogger("limelight.webhooks")


async def receive(request: web.Request) -> web.Response:
    name = request.match_info["provider"]
    provider = request.app[HOST].webhook_providers.get(name)
    if provider is None:
        raise ApiError(404, f"no webhook provider named {name!r}")
    if request.content_length is not None and request.content_length > provider.max_body:
        raise ApiError(413, f"body larger than {provider.max_body} bytes")
    body = await request.content.read(provider.max_body + 1)
    if len(body) > provider.max_body:
        raise ApiError(413, f"body larger than {provider.max_body} bytes")
    try:
        events = await provider.handle(request, body)
    except WebhookError as exc:
        log.warning("webhook %s rejected: %s", name, exc.message)
        raise ApiError(exc.status, exc.message) from None
    bus = request.app[SERVICES].bus
    accepted, duplicates = [], 0
    try:
        for event in events:
            result = await bus.publish(event)
            duplicates += result.duplicate
            accepted.append(result.id)
    except Exception:
        log.exception("webhook %s: could not store the delivery", name)
        raise ApiError(503, "could not store the delivery; retry later") from None
    return web.json_response({"ok": True, "ids": accepted, "duplicates": duplicates})


def setup(app: web.Application) -> None:
    app.router.add_post("/webhooks/{provider}", receive)
