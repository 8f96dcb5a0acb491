"""Who may call what: admin Bearer token (or dashboard session), overlay token.

Every comparison is constant-time (:func:`hmac.compare_digest`). The dashboard session
cookie holds an HMAC of the admin token rather than the token itself, so a copied cookie
dies when the streamer rotates the token.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from ..config import Settings
from ..edge import same_secret

SESSION_COOKIE = "limelight_session"


class AuthError(web.HTTPException):
    """401/403 with a message the error middleware renders as JSON or HTML."""

    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        super().__init__(reason=message, text=message)


def _equal(given: str, expected: str) -> bool:
    # A header byte outside ASCII (\xff) reaches us as a surrogate: unequal, never a 500.
    return same_secret(given, expected)


def session_value(settings: Settings) -> str:
    key = settings.security.admin_token.encode()
    return hmac.new(key, b"limelight-dashboard-session", hashlib.sha256).hexdigest()


def is_admin(request: web.Request, settings: Settings) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _equal(header[7:].strip(), settings.security.admin_token)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return (
        bool(cookie)
        and bool(settings.security.admin_token)
        and _equal(cookie, session_value(settings))
    )


def require_admin(request: web.Request, settings: Settings) -> None:
    if not settings.security.admin_token:
        raise AuthError(403, "the admin API is disabled: set security.admin_token")
    if not is_admin(request, settings):
        if request.headers.get("Authorization", "").startswith("Bearer "):
            raise AuthError(403, "invalid admin token")
        raise AuthError(401, "admin token required (Authorization: Bearer <admin_token>)")


def check_login(given: str, settings: Settings) -> bool:
    sec = settings.security
    return _equal(given, sec.admin_token) or _equal(given, sec.admin_password)


def require_overlay(request: web.Request, settings: Settings) -> None:
    token = request.query.get("token", "")
    if not settings.security.overlay_token:
        raise AuthError(403, "overlays are disabled: set security.overlay_token")
    if not token:
        raise AuthError(401, "overlay token required (?token=...)")
    if not _equal(token, settings.security.overlay_token):
        raise AuthError(403, "invalid overlay token")
