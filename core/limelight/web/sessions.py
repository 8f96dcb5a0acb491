"""Dashboard sessions, kept on the server.

Why server-side: a session value derived from the admin token (as it used to be) is the
same for every login, so a copied cookie kept working after logout. Now each login gets a
fresh random id (``secrets.token_urlsafe``, 256 bits) that only the browser's cookie holds;
the database keeps a keyed hash of it with an expiry (``[security] session_hours``).
Logging out deletes the row, so the old cookie is refused from then on; logging in again
starts a new id (a session fixed before login is never promoted).

The hash is keyed with the admin token: rotating the token ends every session at once.
The CSRF token is derived from the id the same way (an HMAC), so it needs no storage, and
the page that carries it cannot be turned back into the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from ..config import Settings
from ..models import DashboardSession

log = logging.getLogger("limelight.web")

#: The cookie's name; its value is the random session id and nothing else.
SESSION_COOKIE = "limelight_session"
#: What ``secrets.token_urlsafe(32)`` produces; anything else in the cookie is ignored
#: without a database query.
_ID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


#: Dashboard roles, least to most: a moderator (queue controls, chat console) and the
#: streamer (everything). A route names the least role it needs (``Route(auth=...)``).
ROLES = ("moderator", "admin")


@dataclass(frozen=True)
class Session:
    """One logged-in dashboard: the id from the cookie, when it ends, and whose it is:
    the streamer's (``role == "admin"``) or a moderator's (with their id)."""

    id: str
    key: str
    expires_at: datetime
    role: str = "admin"
    moderator_id: int | None = None

    @property
    def csrf_token(self) -> str:
        """The token every state-changing request of this session must carry."""
        return hmac.new(self.id.encode(), b"limelight-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Refused:
    """A request's session cookie was not accepted: the status and message to answer."""

    status: int
    message: str


#: The request's live dashboard session, set by the request guard (:mod:`.csrf`) only when
#: the request may use it: a safe method, or a state-changing one that passed the CSRF
#: checks.
SESSION = web.RequestKey("limelight_session", Session)
#: Why a request that carried a session cookie is not signed in (wrong origin, no CSRF
#: token, database unavailable), so :func:`~.auth.require_admin` can say so.
REFUSED = web.RequestKey("limelight_session_refused", Refused)


def session_key(session_id: str, settings: Settings) -> str:
    """The stored form of a session id: an HMAC keyed with the admin token."""
    key = settings.security.admin_token.encode("utf-8", "surrogatepass")
    return hmac.new(key, b"limelight-session:" + session_id.encode(), hashlib.sha256).hexdigest()


def cookie_id(request: web.Request) -> str:
    """The session id the request's cookie carries, or "" when there is none that could be
    one (a malformed cookie is treated as no cookie, never as an error)."""
    try:
        value = request.cookies.get(SESSION_COOKIE, "")
    except (ValueError, UnicodeError):
        return ""
    return value if _ID_SHAPE.match(value) else ""


async def start(
    settings: Settings, *, role: str = "admin", moderator_id: int | None = None
) -> Session:
    """A new session (a new random id) for a login that just succeeded; expired sessions
    are deleted on the way."""
    if role not in ROLES:
        raise ValueError(f"unknown dashboard role {role!r}")
    now = datetime.now(UTC)
    await DashboardSession.filter(expires_at__lte=now).delete()
    session_id = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.security.session_hours)
    key = session_key(session_id, settings)
    await DashboardSession.create(
        key=key, created_at=now, expires_at=expires, role=role, moderator_id=moderator_id
    )
    return Session(session_id, key, expires, role, moderator_id)


async def find(session_id: str, settings: Settings) -> Session | None:
    """The live session with this id, or ``None`` (unknown, ended, expired, or made with an
    admin token that has since been rotated)."""
    if not session_id or not settings.security.admin_token:
        return None
    key = session_key(session_id, settings)
    row = await DashboardSession.get_or_none(key=key)
    if row is None:
        return None
    if row.expires_at <= datetime.now(UTC):
        await DashboardSession.filter(key=key).delete()
        return None
    role = row.role if row.role in ROLES else ""
    if not role:  # a role this version does not know grants nothing
        return None
    return Session(session_id, key, row.expires_at, role, row.moderator_id)


async def end(session: Session) -> None:
    """Log out: the id stops working everywhere, including in a copied cookie."""
    await DashboardSession.filter(key=session.key).delete()


async def end_moderator(moderator_id: int) -> int:
    """End every session of one moderator (their access was revoked); how many ended."""
    return await DashboardSession.filter(moderator_id=moderator_id).delete()


def set_cookie(response: web.StreamResponse, session: Session, settings: Settings) -> None:
    """The cookie for ``session``: HttpOnly (no script reads it), ``SameSite=Strict`` (no
    other site's page sends it), ``Secure`` when the dashboard is served over https."""
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=int(settings.security.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_https(settings),
    )


def clear_cookie(response: web.StreamResponse, settings: Settings) -> None:
    response.del_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=is_https(settings)
    )


def is_https(settings: Settings) -> bool:
    """Whether browsers reach the dashboard over https (``server.public_url``)."""
    return settings.server.public_url.strip().lower().startswith("https://")
