"""The dashboard's chat page (``/admin/chat``) and its admin JSON API.

``GET /api/chat/feed?since=<seq>`` returns the lines the console shows (every connector's
incoming chat with its gating verdict, what the bot said, deletions) after ``seq``;
``POST /api/chat/say`` makes the bot say something. Typing *as a viewer* is the console
connector's job (plugin ``console``, ``POST /api/console/messages``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..web.api import for_moderators
from ..web.auth import require_moderator
from ..web.dashboard import render, require_session
from ..web.keys import SERVICES, SETTINGS
from .outbound import PRIORITIES

if TYPE_CHECKING:
    from .service import ChatService


def _chat(request: web.Request) -> ChatService:
    chat = request.app[SERVICES].chat
    if chat is None:
        raise web.HTTPServiceUnavailable(text="the chat service is not running")
    return chat


async def chat_page(request: web.Request) -> web.Response:
    require_session(request, "moderator")
    chat = _chat(request)
    console = "console" in chat.connectors
    commands = [
        {"usage": c.usage(chat.router.prefix), "help": c.help, "role": c.role}
        for c in sorted(chat.router.commands.values(), key=lambda c: c.name)
        if not c.hidden
    ]
    return render(
        request,
        "admin/chat.html",
        {
            "console": console,
            "commands": commands,
            "roles": ["subscriber", "vip", "moderator", "broadcaster"],
            "connectors": chat.status()["connectors"],
        },
    )


async def feed(request: web.Request) -> web.Response:
    require_moderator(request, request.app[SETTINGS])
    chat = _chat(request)
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="since must be an integer") from None
    lines = chat.feed_since(since)
    return web.json_response(
        {
            "lines": lines,
            "seq": lines[-1]["seq"] if lines else since,
            "connectors": chat.status()["connectors"],
        }
    )


async def say(request: web.Request) -> web.Response:
    require_moderator(request, request.app[SETTINGS])
    chat = _chat(request)
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise web.HTTPBadRequest(text="text is required")
    priority = body.get("priority", "normal")
    if priority not in PRIORITIES:
        raise web.HTTPBadRequest(text=f"priority must be one of {', '.join(PRIORITIES)}")
    platform = body.get("platform") or None
    channel = body.get("channel") or None
    queued = await chat.say(text.strip(), platform=platform, channel=channel, priority=priority)
    return web.json_response({"queued": len(queued)}, status=202)


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/chat", chat_page, name="admin-chat")
    # (the handlers check for moderator rights themselves)
    for_moderators(
        app, app.router.add_get("/api/chat/feed", feed), app.router.add_post("/api/chat/say", say)
    )
