"""Errors as the caller can read them: JSON under ``/api`` and ``/webhooks``, HTML elsewhere.

Unexpected exceptions are logged with their traceback and answered with a neutral 500; the
details never reach the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from html import escape

import aiohttp_jinja2
from aiohttp import web
from yarl import URL

from ..failures import NotRecorded, Unrecordable
from ..links import LinkError, LinkExpired
from .security import DASHBOARD_CSP, OVERLAY_CSP, secure

log = logging.getLogger("limelight.web")

JSON_PREFIXES = ("/api/", "/webhooks/", "/-/", "/healthz")


class ApiError(web.HTTPException):
    """Raise with a status and a message: ``raise ApiError(400, "amount must be > 0")``."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        self.status_code = status
        self.message = message
        self.extra = extra
        super().__init__(reason=None, text=message)


#: Seconds a client (a webhook provider, a script) is asked to wait before retrying a 503.
RETRY_AFTER = 30


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def error_response(
    request: web.Request, status: int, message: str, extra: dict[str, object] | None = None
) -> web.Response:
    if wants_json(request):
        body = {"error": message, "status": status, **(extra or {})}
        response = web.Response(
            status=status, text=json.dumps(body), content_type="application/json"
        )
        return secure(response, csp=None)
    title = TITLES.get(status, "Something went wrong" if status >= 500 else "That did not work")
    return notice_page(request, status, title, message)


#: The heading of an error page, by status; the message under it says what is wrong.
TITLES = {
    400: "This request is not valid",
    401: "Log in first",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    410: "This link has expired",
    413: "Too large",
    503: "Try again in a moment",
}


def notice_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    """A page that says one thing: an error, a link from chat that expired, a reservation
    already paid. In the dashboard's look and fitting a phone, since viewers open these
    from chat (``viewer/notice.html``); the message is text, never HTML. A signed-in
    streamer gets the dashboard's navigation on it, a viewer none. Why one: every refusal
    a person reads looks alike, and none is a bare line of text on a white page."""
    message = message[:1].upper() + message[1:]
    if message and message[-1] not in ".!?":
        message += "."
    context = {"title": title, "message": message}
    if aiohttp_jinja2.APP_KEY in request.app:
        response = aiohttp_jinja2.render_template(
            "viewer/notice.html", request, context, status=status
        )
    else:  # an app without pages (a test's bare app)
        page = f"<!doctype html><title>{escape(title)}</title><p>{escape(message)}</p>"
        response = web.Response(status=status, text=page, content_type="text/html")
    # An overlay's error shows in the dashboard's preview frame; any other page is never framed.
    csp = OVERLAY_CSP if request.path.startswith("/overlays/") else DASHBOARD_CSP
    return secure(response, csp=csp)


def link_refused(request: web.Request, error: LinkError) -> web.Response:
    """The page for a personal link (``!tip``, ``!vip join``, ``!merch``) that expired or
    was never valid; the error's sentence says how to get a new one."""
    expired = isinstance(error, LinkExpired)
    title = "This link has expired" if expired else "This link does not work"
    return notice_page(request, error.status, title, str(error))


def retry_later(request: web.Request, message: str) -> web.Response:
    """A 503 that says when to come back (``Retry-After``)."""
    response = error_response(request, 503, message)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error as an answer that says what is wrong, in the page's kind (JSON or
    HTML) -- unless the answer has already started going out (a streamed download,
    :func:`limelight.web.export.csv_download`). Its status cannot change any more, and an
    error answer written after it would land inside its body; so the error goes on to
    aiohttp, which logs it and closes the connection: the client sees a cut-off
    transfer, never one that looks complete."""
    try:
        return await handler(request)
    except Exception as exc:
        if request.writer.output_size > 0:
            raise
        if isinstance(exc, web.HTTPNotFound):
            twin = await slash_twin(request)
            if twin is not None:
                raise web.HTTPPermanentRedirect(twin) from None
        return _error_answer(request, exc)


async def slash_twin(request: web.Request) -> str | None:
    """Where a page asked for with or without its trailing slash really is
    (``/p/shop`` → ``/p/shop/``, ``/admin/overlays/`` → ``/admin/overlays``), query kept;
    ``None`` when the twin is no page either, or the request was not a plain GET or HEAD
    that matched no route (a handler's own 404, say for an overlay nobody registered, is
    kept). Why: a streamer typing a dashboard address by hand should land on the page,
    not on a 404 over one character. (aiohttp's ``normalize_path_middleware`` redirects in
    one direction only, and merges ``//`` into a redirect.) The answer is a path on this
    server only: a path starting with ``//`` or ``/\\`` (another host, to a browser) is
    never redirected."""
    path = request.path
    if (
        request.method not in ("GET", "HEAD")
        or request.match_info.http_exception is None
        or path.startswith(("//", "/\\"))
        or path == "/"
    ):
        return None
    raw = request.rel_url.raw_path  # as sent, so the redirect changes one slash, nothing else
    twin = URL(raw[:-1] if raw.endswith("/") else raw + "/", encoded=True)
    match = await request.app.router.resolve(request.clone(rel_url=twin))
    if match.http_exception is not None:
        return None
    query = request.rel_url.raw_query_string
    return str(twin) + ("?" + query if query else "")


def _error_answer(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The answer for ``exc`` (called while it is being handled, so a redirect, which is
    no error, is raised on)."""
    if isinstance(exc, ApiError):
        return error_response(request, exc.status_code, exc.message, exc.extra)
    if isinstance(exc, Unrecordable):  # a route that published (a plugin's, a dashboard action)
        message = f"this cannot be recorded: {exc.reason}"
        return error_response(request, 422, message, {"quarantined": exc.quarantined})
    if isinstance(exc, NotRecorded):
        return retry_later(request, "could not record it now; retry later")
    if isinstance(exc, web.HTTPException):
        if exc.status_code < 400:
            raise exc
        if exc.status_code == 413:
            message = "request body too large"
        elif exc.status_code == 404:
            message = f"no such page: {request.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} not allowed here"
        else:
            message = exc.text or exc.reason or "error"
        return error_response(request, exc.status_code, message)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(request, 500, "internal error; the server log has details")
