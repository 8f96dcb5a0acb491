"""Moderators: invite links, their own logins, and the streamer's page to manage them.

The streamer creates an invite on ``/admin/moderators`` for a name and a lifetime (an hour
to a month). The link, ``/admin/invite/<secret>``, carries 256 random bits; the database
keeps only an HMAC of them keyed with the admin token (as for sessions), so a copy of the
database opens nothing and rotating the admin token voids every open invite. A link works
once, until it expires, and not after the streamer revoked it.

Whoever opens it picks a password and becomes a moderator: a login of their own (name and
password on the login page) whose sessions have the ``moderator`` role. A moderator may use
the routes that declare ``auth="moderator"`` (queue controls, the chat console, the event
list); everything else (refunds, settings, invites, the quarantine, the report) answers 403
and is not in their navigation. Revoking a moderator ends their sessions at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .. import edge
from ..config import Settings
from ..db import in_transaction
from ..models import Moderator, ModeratorInvite
from . import sessions
from .api import read_json
from .auth import AuthError
from .csrf import origin_problem
from .dashboard import render, require_session
from .errors import ApiError
from .keys import SETTINGS

log = logging.getLogger("limelight.web")

INVITE_PATH = "/admin/invite/"
#: Lifetimes an invite may have, in hours (a month at most).
MIN_HOURS, MAX_HOURS = 1, 24 * 30
#: A moderator's password is at least this long (it guards queue controls and chat).
MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_NAME = 40
#: scrypt's cost: about 50 ms and 16 MiB a check, off the event loop.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

#: One moderator login check at a time: the throttle counts each wrong password before the
#: next one is tried (the streamer's check does not wait, so it needs no lock).
LOGIN_LOCK = web.AppKey("moderator_login_lock", asyncio.Lock)


class InviteProblem(ValueError):
    """Why an invite link cannot be used (unknown, used, expired, revoked)."""


# -- passwords -------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        given = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, bytes.fromhex(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    data = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def clean_name(value: object) -> str:
    """A moderator's name as shown in the dashboard: one line of text, capped."""
    if not isinstance(value, str):
        return ""
    return edge.clean_text(value, MAX_NAME).strip()


# -- invites ---------------------------------------------------------------------------------


def invite_key(secret: str, settings: Settings) -> str:
    key = settings.security.admin_token.encode("utf-8", "surrogatepass")
    return hmac.new(key, b"limelight-invite:" + secret.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class NewInvite:
    invite: ModeratorInvite
    url: str


async def create_invite(settings: Settings, name: str, hours: int) -> NewInvite:
    """A new invite for ``name`` valid for ``hours``; its link is in the result only."""
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    invite = await ModeratorInvite.create(
        key=invite_key(secret, settings),
        name=name,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    return NewInvite(invite, f"{settings.base_url()}{INVITE_PATH}{secret}")


def invite_state(invite: ModeratorInvite, now: datetime | None = None) -> str:
    """``open``, ``used``, ``revoked`` or ``expired``."""
    now = now or datetime.now(UTC)
    if invite.revoked_at is not None:
        return "revoked"
    if invite.used_at is not None:
        return "used"
    if invite.expires_at <= now:
        return "expired"
    return "open"


async def open_invite(secret: str, settings: Settings) -> ModeratorInvite:
    """The invite ``secret`` opens, or :class:`InviteProblem` saying why it does not."""
    if not settings.security.admin_token or not 20 <= len(secret) <= 100:
        raise InviteProblem("This invite link is not valid.")
    invite = await ModeratorInvite.get_or_none(key=invite_key(secret, settings))
    if invite is None:
        raise InviteProblem("This invite link is not valid.")
    state = invite_state(invite)
    if state != "open":
        raise InviteProblem(
            {
                "used": "This invite link was already used. Ask the streamer for a new one.",
                "revoked": "The streamer revoked this invite link.",
                "expired": "This invite link has expired. Ask the streamer for a new one.",
            }[state]
        )
    return invite


async def accept_invite(secret: str, password: str, settings: Settings) -> Moderator:
    """Use the invite (once) and make its moderator login with ``password``."""
    invite = await open_invite(secret, settings)
    digest = await asyncio.to_thread(hash_password, password)
    now = datetime.now(UTC)
    async with in_transaction():
        # Claims the invite only if it is still open: two tabs racing get one login.
        claimed = await ModeratorInvite.filter(
            id=invite.id, used_at=None, revoked_at=None, expires_at__gt=now
        ).update(used_at=now)
        if claimed != 1:
            raise InviteProblem(
                "This invite link was already used. Ask the streamer for a new one."
            )
        existing = await Moderator.get_or_none(name=invite.name)
        if existing is not None and existing.revoked_at is None:
            raise InviteProblem(
                f"There already is a moderator named {invite.name!r}. Ask the streamer "
                "to revoke that login first, or to invite you under another name."
            )
        if existing is not None:  # invited again after a revoke: the same name, anew
            existing.password_hash = digest
            existing.revoked_at = None
            existing.created_at = now
            existing.last_login = now
            await existing.save()
            moderator = existing
        else:
            moderator = await Moderator.create(
                name=invite.name, password_hash=digest, created_at=now, last_login=now
            )
        await ModeratorInvite.filter(id=invite.id).update(moderator_id=moderator.id)
    log.info("moderator %r joined through an invite", moderator.name)
    return moderator


async def check_login(name: str, password: str) -> Moderator | None:
    """The active moderator with this name and password, or ``None``."""
    moderator = await Moderator.get_or_none(name=name, revoked_at=None)
    stored = moderator.password_hash if moderator is not None else _decoy()
    ok = await asyncio.to_thread(password_matches, password, stored)
    if moderator is None or not ok:
        return None
    moderator.last_login = datetime.now(UTC)
    await moderator.save(update_fields=["last_login"])
    return moderator


@functools.cache
def _decoy() -> str:
    """Checked against when the name is unknown, so a wrong name takes as long as a wrong
    password (the answer does not tell which names exist). Made on first use: hashing
    takes about 50 ms, which every start would pay otherwise."""
    return hash_password(secrets.token_urlsafe(16))


async def revoke(moderator_id: int) -> bool:
    """End a moderator's access: their login stops working and their sessions end now."""
    changed = await Moderator.filter(id=moderator_id, revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )
    await sessions.end_moderator(moderator_id)
    return changed == 1


# -- pages -----------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    """In the server's time zone, as the dashboard shows times."""
    return value.astimezone().isoformat() if value is not None else None


def invite_json(invite: ModeratorInvite, now: datetime) -> dict[str, Any]:
    return {
        "id": invite.id,
        "name": invite.name,
        "created_at": _iso(invite.created_at),
        "expires_at": _iso(invite.expires_at),
        "used_at": _iso(invite.used_at),
        "state": invite_state(invite, now),
    }


def moderator_json(moderator: Moderator) -> dict[str, Any]:
    return {
        "id": moderator.id,
        "name": moderator.name,
        "created_at": _iso(moderator.created_at),
        "last_login": _iso(moderator.last_login),
        "active": moderator.revoked_at is None,
    }


async def listing() -> dict[str, Any]:
    now = datetime.now(UTC)
    invites = await ModeratorInvite.all().order_by("-id").limit(100)
    moderators = await Moderator.filter(revoked_at=None).order_by("name")
    return {
        "moderators": [moderator_json(m) for m in moderators],
        "invites": [invite_json(i, now) for i in invites if invite_state(i, now) == "open"],
    }


async def page(request: web.Request) -> web.Response:
    require_session(request)
    return render(
        request,
        "admin/moderators.html",
        {**await listing(), "max_hours": MAX_HOURS},
    )


async def api_list(request: web.Request) -> web.Response:
    return web.json_response(await listing())


async def api_invite(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, 'send a JSON object: {"name": ..., "hours": ...}')
    name = clean_name(body.get("name"))
    if not name:
        raise ApiError(400, f"name is required (up to {MAX_NAME} characters)")
    hours = body.get("hours", 24)
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise ApiError(400, "hours must be a whole number")
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise ApiError(400, f"hours must be between {MIN_HOURS} and {MAX_HOURS}")
    if await Moderator.filter(name=name, revoked_at=None).exists():
        raise ApiError(409, f"there already is a moderator named {name!r}")
    new = await create_invite(request.app[SETTINGS], name, hours)
    return web.json_response(
        {"invite": invite_json(new.invite, datetime.now(UTC)), "url": new.url}, status=201
    )


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise ApiError(404, "no such id") from None


async def api_revoke_invite(request: web.Request) -> web.Response:
    changed = await ModeratorInvite.filter(id=_id(request), used_at=None, revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )
    if not changed:
        raise ApiError(404, "no open invite with that id")
    return web.json_response({"revoked": True})


async def api_revoke_moderator(request: web.Request) -> web.Response:
    if not await revoke(_id(request)):
        raise ApiError(404, "no active moderator with that id")
    return web.json_response({"revoked": True})


async def invite_page(request: web.Request) -> web.Response:
    """What an invite link opens: a form to choose a password, or why it cannot be used."""
    try:
        invite = await open_invite(request.match_info["secret"], request.app[SETTINGS])
    except InviteProblem as exc:
        return _invite_answer(request, 410, {"problem": str(exc)})
    return _invite_answer(request, 200, {"name": invite.name, "problem": ""})


def _invite_answer(request: web.Request, status: int, context: dict[str, Any]) -> web.Response:
    response = render(request, "admin/invite.html", {"nav": [], **context})
    response.set_status(status)
    return response


async def accept(request: web.Request) -> web.StreamResponse:
    """Choose a password: the invite is used up and the new moderator is signed in."""
    settings = request.app[SETTINGS]
    secret = request.match_info["secret"]
    if request.headers.get("Origin") and origin_problem(request, settings):
        raise AuthError(403, "That form was not this server's.")
    form = await request.post()
    password = str(form.get("password", ""))
    again = str(form.get("password2", ""))
    try:
        invite = await open_invite(secret, settings)
    except InviteProblem as exc:
        return _invite_answer(request, 410, {"problem": str(exc)})
    error = ""
    if len(password) < MIN_PASSWORD:
        error = f"Choose a password of at least {MIN_PASSWORD} characters."
    elif len(password) > MAX_PASSWORD:
        error = f"Choose a password of at most {MAX_PASSWORD} characters."
    elif password != again:
        error = "The two passwords differ."
    if error:
        return _invite_answer(request, 400, {"name": invite.name, "problem": "", "error": error})
    try:
        moderator = await accept_invite(secret, password, settings)
    except InviteProblem as exc:
        return _invite_answer(request, 410, {"problem": str(exc)})
    session = await sessions.start(settings, role="moderator", moderator_id=moderator.id)
    response = web.HTTPFound("/admin/")
    sessions.set_cookie(response, session, settings)
    raise response


def setup(app: web.Application) -> None:
    app[LOGIN_LOCK] = asyncio.Lock()
    app.router.add_get("/admin/moderators", page, name="admin-moderators")
    app.router.add_get(INVITE_PATH + "{secret}", invite_page, name="admin-invite")
    app.router.add_post(INVITE_PATH + "{secret}", accept)
    app.router.add_get("/api/moderators", api_list)
    app.router.add_post("/api/moderators/invites", api_invite)
    app.router.add_post("/api/moderators/invites/{id}/revoke", api_revoke_invite)
    app.router.add_post("/api/moderators/{id}/revoke", api_revoke_moderator)
