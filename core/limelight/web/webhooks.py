"""``/webhooks/<provider>``: the one door for payment and tip providers.

The provider (a plugin's :class:`~limelight.registry.WebhookProvider`) verifies the
signature and parses the delivery; this module enforces the body limit, passes every event
it returns through the edge normaliser (:func:`limelight.edge.clean_event`: whatever a
provider let through, no string, key, number or time from outside reaches the database
unchecked) and commits them before answering. The answer is a promise (see
:mod:`limelight.failures`):

* **2xx**: every event of the delivery is committed and every money plugin's rows for it
  are written (in its batch, or in the core's second attempt, which runs before this
  answer). A replay gets 200 and changes nothing.
* **503** with ``Retry-After``: the database could not take it now (busy, down, full).
  Nothing is answered as recorded; the provider's retry stores it, or writes the rows a
  plugin still owes for it (:mod:`limelight.owed`), and only then gets its 2xx.
* **422**: the delivery can never be recorded as it is (the database refuses one of its
  values, or a money plugin raises on it every time). It is kept in the quarantine for
  the streamer (amount, payer, provider id, the raw body), and a retry gets the same 422.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from aiohttp import web

from .. import edge
from ..failures import Unrecordable, describe, is_transient
from ..quarantine import Raw
from ..webhooks import WebhookError
from .errors import ApiError, retry_later
from .keys import HOST, SERVICES, SETTINGS

if TYPE_CHECKING:
    from ..bus import Accepted, EventBus
    from ..config import Settings
    from ..events import Event

log = logging.getLogger("limelight.webhooks")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it grows past ``limit`` bytes.

    Providers sign the exact bytes, so the body is read raw (never re-encoded), and it is
    read in chunks so a huge or endless body costs at most ``limit`` bytes of memory.
    """
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    # made only when needed: an HTTP exception builds a whole response
    return ApiError(413, f"body larger than {limit} bytes")


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
        events = [edge.clean_event(e) for e in await provider.handle(request, body)]
    except (WebhookError, edge.EdgeError) as exc:
        status, message = (
            (exc.status, exc.message) if isinstance(exc, WebhookError) else (400, str(exc))
        )
        log.warning("webhook %s rejected (%d): %s", name, status, message)
        raise ApiError(status, message) from None
    except Exception as exc:
        # The provider failed on this delivery in a way it did not foresee (before or
        # after its signature check: nothing of it is kept). A passing database error is
        # worth a retry; anything else would fail the same way every time.
        log.error("webhook %s: the provider failed on the delivery", name, exc_info=exc)
        if is_transient(exc):
            return retry_later(request, "could not read the delivery now; retry later")
        raise ApiError(422, f"this delivery cannot be read: {describe(exc)}") from None
    bus = request.app[SERVICES].bus
    raw = functools.partial(redacted, body, request.app[SETTINGS])  # made only if kept
    # Shielded: the request can be cancelled (at a stop, once the server's shutdown
    # timeout is over) while the delivery's events commit and dispatch; the commit then
    # goes on to its end in its own task instead of stopping between two events, and
    # whatever was committed is deduped when the provider retries. Stepping the commit in
    # the request's task by hand (tried: ~0.04 ms less per tip) let a plugin hook's
    # timeout cancel the request. A plain ``await`` of the commit (tried 2026-12-04) keeps
    # hook timeouts right but gives up the above for no gain beyond this benchmark's
    # noise (three interleaved pairs of bench_tips: 0.37 - 0.43x against 0.38 - 0.40x).
    try:
        results = await asyncio.shield(_commit(bus, events, raw))
    except Unrecordable as exc:
        log.warning("webhook %s: the delivery cannot be recorded (422): %s", name, exc.reason)
        raise ApiError(
            422, f"this delivery cannot be recorded: {exc.reason}", quarantined=exc.quarantined
        ) from None
    except Exception as exc:
        log.error("webhook %s: could not store the delivery (503): %s", name, exc)
        return retry_later(request, "could not store the delivery; retry later")
    ids = [r.id for r in results]
    duplicates = sum(r.duplicate for r in results)
    return web.json_response({"ok": True, "ids": ids, "duplicates": duplicates})


async def _commit(bus: EventBus, events: list[Event], raw: Raw) -> list[Accepted]:
    return [await bus.publish(event, retryable=True, raw=raw) for event in events]


def redacted(body: bytes, settings: Settings) -> str:
    """The delivery as the quarantine keeps it: decoded, with every credential of the
    config (``[webhooks.*]``, ``[security]``) cut out, plain or URL-encoded. Ko-fi sends
    its verification token in the body, and the quarantine is shown on the dashboard."""
    text = body.decode("utf-8", "backslashreplace")
    for secret in _credentials([settings.webhooks, settings.security.model_dump()]):
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "[redacted]")
    return text


def _credentials(values: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(values, str):
        if len(values) >= 8:  # shorter values are no credential worth the name
            found.add(values)
    elif isinstance(values, Mapping):
        for value in values.values():
            found |= _credentials(value)
    elif isinstance(values, list | tuple):
        for value in values:
            found |= _credentials(value)
    return found


def setup(app: web.Application) -> None:
    app.router.add_post("/webhooks/{provider}", receive)
