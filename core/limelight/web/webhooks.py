"""``/webhooks/<provider>``: the one door for payment and tip providers.

The provider (a plugin's :class:`~limelight.registry.WebhookProvider`) verifies the
signature and parses the delivery; this module enforces the body limit, passes every event
it returns through the edge normaliser (:func:`limelight.edge.clean_event`: whatever a
provider let through, no string, key, number or time from outside reaches the database
unchecked) and commits them before answering 2xx. A delivery the database could not take gets a 503,
so the provider retries and nothing is lost; a replay gets 200 and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from .. import edge
from ..webhooks import WebhookError
from .errors import ApiError
from .keys import HOST, SERVICES

if TYPE_CHECKING:
    from ..bus import Accepted, EventBus
    from ..events import Event

log = logging.getLogger("limelight.webhooks")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it grows past ``limit`` bytes.

    Providers sign the exact bytes, so the body is read raw (never re-encoded), and it is
    read in chunks so a huge or endless body costs at most ``limit`` bytes of memory.
    """
    too_large = ApiError(413, f"body larger than {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large
    return b"".join(chunks)


async def receive(request: web.Request) -> web.Response:
    name = request.match_info["provider"]
    provider = request.app[HOST].webhook_providers.get(name)
    if provider is None:
        raise ApiError(404, f"no webhook provider named {name!r}")
    body = await read_body(request, provider.max_body)
    try:
        events = [edge.clean_event(e) for e in await provider.handle(request, body)]
    except (WebhookError, edge.EdgeError) as exc:
        status, message = (
            (exc.status, exc.message) if isinstance(exc, WebhookError) else (400, str(exc))
        )
        log.warning("webhook %s rejected (%d): %s", name, status, message)
        raise ApiError(status, message) from None
    bus = request.app[SERVICES].bus
    # Shielded: a provider that hangs up mid-commit must not leave half a delivery behind;
    # whatever was committed is deduped when it retries.
    try:
        results = await asyncio.shield(_commit(bus, events))
    except Exception:
        log.exception("webhook %s: could not store the delivery", name)
        raise ApiError(503, "could not store the delivery; retry later") from None
    ids = [r.id for r in results]
    duplicates = sum(r.duplicate for r in results)
    return web.json_response({"ok": True, "ids": ids, "duplicates": duplicates})


async def _commit(bus: EventBus, events: list[Event]) -> list[Accepted]:
    return [await bus.publish(event) for event in events]


def setup(app: web.Application) -> None:
    app.router.add_post("/webhooks/{provider}", receive)
