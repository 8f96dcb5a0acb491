"""``/webhooks/<provider>``: the one door for payment and tip providers.

The provider (a plugin's :class:`~limelight.registry.WebhookProvider`) verifies the
signature and parses the delivery; this module enforces the body limit and commits every
event it returns before answering 2xx. A delivery the database could not take gets a 503,
so the provider retries and nothing is lost; a replay gets 200 and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web

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


def refuse_compressed(request: web.Request) -> None:
    """415 for a compressed body: no provider compresses its deliveries (Ko-fi and Stripe
    do not), and inflating one costs CPU out of all proportion to its size on the wire (a
    gzip bomb). The server never inflates bodies itself (``auto_decompress=False``)."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding and encoding != "identity":
        shown = "".join(c for c in encoding[:40] if c.isprintable())
        raise ApiError(
            415,
            f"compressed request bodies are not accepted (Content-Encoding: {shown}); "
            "send the body uncompressed",
        )


async def receive(request: web.Request) -> web.Response:
    name = request.match_info["provider"]
    provider = request.app[HOST].webhook_providers.get(name)
    if provider is None:
        raise ApiError(404, f"no webhook provider named {name!r}")
    refuse_compressed(request)
    body = await read_body(request, provider.max_body)
    try:
        events = await provider.handle(request, body)
    except WebhookError as exc:
        log.warning("webhook %s rejected (%d): %s", name, exc.status, exc.message)
        raise ApiError(exc.status, exc.message) from None
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
