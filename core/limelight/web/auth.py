"""Who may call what: admin Bearer token (or dashboard session), overlay token.

Every comparison is constant-time (:func:`hmac.compare_digest`). The dashboard session is
resolved once per request by the request guard (:mod:`.csrf`, :mod:`.sessions`): it is on
the request only when the request may act with it, so every admin check here, the core's
and each plugin route's, gets the CSRF protection without doing anything.
"""

from __future__ import annotations

from aiohttp import web

from ..config import Settings
from ..edge import same_secret
from .sessions import REFUSED, SESSION


class AuthError(web.HTTPException):
    """401/403 with a message the error middleware renders as JSON or HTML."""

    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        super().__init__(reason=message, text=message)


def _equal(given: str, expected: str) -> bool:
    # A header byte outside ASCII (\xff) reaches us as a surrogate: unequal, never a 500.
    return same_secret(given, expected)


def role_of(request: web.Request, settings: Settings) -> str | None:
    """Who the request acts as: ``"admin"`` (the admin token, or the streamer's session),
    ``"moderator"`` (a moderator's session), or ``None`` (nobody signed in)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "admin" if _equal(header[7:].strip(), settings.security.admin_token) else None
    if not settings.security.admin_token:
        return None
    session = request.get(SESSION)
    return session.role if session is not None else None


def is_admin(request: web.Request, settings: Settings) -> bool:
    """A right Bearer admin token, or the streamer's session the request guard accepted."""
    return role_of(request, settings) == "admin"


def is_moderator(request: web.Request, settings: Settings) -> bool:
    """Moderator rights or more: a moderator's session, or the streamer's."""
    return role_of(request, settings) in ("admin", "moderator")


#: What a moderator is told when a route needs the streamer.
STREAMER_ONLY = "moderators cannot do this: it needs the streamer's login"


def require_admin(request: web.Request, settings: Settings) -> None:
    if not settings.security.admin_token:
        raise AuthError(403, "the admin API is disabled: set security.admin_token")
    role = role_of(request, settings)
    if role == "admin":
        return
    if role == "moderator":
        raise AuthError(403, STREAMER_ONLY)
    _refuse(request)


def require_moderator(request: web.Request, settings: Settings) -> None:
    """Moderator rights or more (queue controls, the chat console)."""
    if not settings.security.admin_token:
        raise AuthError(403, "the admin API is disabled: set security.admin_token")
    if not is_moderator(request, settings):
        _refuse(request)


def require_role(request: web.Request, settings: Settings, role: str) -> None:
    """The least role a route declared (``Route(auth="admin" | "moderator")``)."""
    if role == "moderator":
        require_moderator(request, settings)
    else:
        require_admin(request, settings)


def _refuse(request: web.Request) -> None:
    if request.headers.get("Authorization", "").startswith("Bearer "):
        raise AuthError(403, "invalid admin token")
    refused = request.get(REFUSED)
    if refused is not None:  # a session cookie was sent, but may not be used here
        raise AuthError(refused.status, refused.message)
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
