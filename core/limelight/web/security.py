"""The security headers every page Limelight serves carries, built in one place.

Why one helper: the dashboard, the overlay pages and plugin pages each used to set their
own copy of these headers, and copies drift (one page loses ``nosniff``, another allows
inline script). A page picks the policy that fits it and calls :func:`secure`::

    from limelight.web.security import DASHBOARD_CSP, secure

    return secure(aiohttp_jinja2.render_template("tips/page.html", request, context))

Neither policy allows inline script (``'unsafe-inline'``) or ``eval``: anything a viewer
typed reaches a page as text, and a policy without inline script keeps it that way even if
a template slips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from aiohttp import web

#: Dashboard (admin) pages: scripts, styles and API calls from this server only; never
#: framed by another site (clickjacking), forms post back here only.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

#: Overlay pages (OBS browser sources): nothing by default, then only this server's
#: scripts, styles, media and fonts and its WebSocket; framing allowed by this server only,
#: so the dashboard can preview an overlay.
OVERLAY_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; font-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


def overlay_csp(image_hosts: Sequence[str] = ()) -> str:
    """:data:`OVERLAY_CSP`, with pictures also from ``image_hosts`` (``[overlays]
    image_hosts``: the platform's CDN for emotes, badges and cheermotes). Only images:
    scripts, sounds and connections stay on this server."""
    if not image_hosts:
        return OVERLAY_CSP
    extra = " ".join(image_hosts)
    return OVERLAY_CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {extra};")


#: Which ``Referer`` a page's requests carry. Dashboard pages send theirs to this server
#: only (``same-origin``): with ``no-referrer`` a browser sends ``Origin: null`` on a form
#: post, and the CSRF check (:mod:`.csrf`) needs the real origin. Every other page sends
#: none: an overlay's URL holds its token.
REFERRER_POLICY = {DASHBOARD_CSP: "same-origin"}

ResponseT = TypeVar("ResponseT", bound=web.StreamResponse)

#: What the ``Server`` header says: the product, not the versions of Python and aiohttp
#: that aiohttp announces by default (``Python/3.11 aiohttp/3.14.5``), which tell a
#: scanner which published vulnerabilities to try.
SERVER_HEADER = "Limelight"


async def name_the_server(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every response of the app (pages, JSON, files, WebSocket
    handshakes, streamed exports) says :data:`SERVER_HEADER`. A signal rather than a
    middleware: a WebSocket or a streamed export is sent before its handler returns."""
    response.headers["Server"] = SERVER_HEADER


def secure(
    response: ResponseT, *, csp: str | None = DASHBOARD_CSP, cache: str = "no-store"
) -> ResponseT:
    """Set the security headers on ``response`` and return it.

    ``csp`` is the Content-Security-Policy (:data:`DASHBOARD_CSP`, :data:`OVERLAY_CSP`, or
    ``None`` for a response that is no page, such as a stylesheet). ``cache`` is the
    ``Cache-Control`` value: pages that show private or live data are ``no-store``.
    """
    headers = response.headers
    if csp is not None:
        headers["Content-Security-Policy"] = csp
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = REFERRER_POLICY.get(csp or "", "no-referrer")
    headers["Cache-Control"] = cache
    return response


__all__ = [
    "DASHBOARD_CSP",
    "OVERLAY_CSP",
    "SERVER_HEADER",
    "name_the_server",
    "overlay_csp",
    "secure",
]
