"""Errors as the caller can read them: JSON under ``/api`` and ``/webhooks``, HTML elsewhere.

Unexpected exceptions are logged with their traceback and answered with a neutral 500; the
details never reach the client.
"""

from __future__ import annotations

import json
import logging
from html import escape

from aiohttp import web

log = logging.getLogger("limelight.web")

JSON_PREFIXES = ("/api/", "/webhooks/", "/-/", "/healthz")


class ApiError(web.HTTPException):
    """Raise with a status and a message: ``raise ApiError(400, "amount must be > 0")``."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        self.status_code = status
        self.message = message
        self.extra = extra
        super().__init__(reason=None, text=message)


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def error_response(
    request: web.Request, status: int, message: str, extra: dict | None = None
) -> web.Response:
    if wants_json(request):
        body = {"error": message, "status": status, **(extra or {})}
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{status}</title></head>"
        f"<body style='font-family:system-ui;margin:3em'><h1>{status}</h1><p>{escape(message)}</p>"
        "<p><a href='/admin/'>Limelight dashboard</a></p></body></html>"
    )
    return web.Response(status=status, text=page, content_type="text/html")


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(request, exc.status_code, exc.message, exc.extra)
    except web.HTTPException as exc:
        if exc.status_code < 400:
            raise
        if exc.status_code == 413:
            message = "request body too large"
        elif exc.status_code == 404:
            message = f"no such page: {request.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} not allowed here"
        else:
            message = exc.text or exc.reason or "error"
        return error_response(request, exc.status_code, message)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500, "internal error; the server log has details")
