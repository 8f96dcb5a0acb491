"""The room's pages: the members' page and its WebSocket (public, behind a personal signed
link), and the streamer's dashboard page with its JSON API.

Public: ``/room/<token>`` (the room and the posts), ``/room/<token>/ws`` (live chat). A
link that does not open the room gets a plain page saying why, never a stack trace.
Admin: ``/p/room/`` (member links, moderation, the post editor), ``/api/room/...`` and
``/p/room/media`` (an image upload for posts: multipart, through the CSRF guard and
``ctx.media``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from limelight import MediaError, PluginContext, Route, ViewerRef, edge, fill
from limelight.web.errors import ApiError
from limelight.web.export import json_object
from limelight.web.security import secure

from .config import RoomConfig
from .content import MAX_BODY, MAX_TITLE, render
from .links import LinkError, Pass, Passes
from .models import Post
from .room import ENDED, Room, dumps, viewer_key

#: Largest WebSocket frame a member's page may send (a message is at most 2000 chars).
MAX_FRAME = 16 * 1024
#: Largest image upload for posts.
MAX_UPLOAD = 4 * 1024 * 1024
NOT_MEMBER = (
    "The members' room is for members. If you just joined, give it a minute and try "
    "again; otherwise ask the streamer how to become a member."
)


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def _viewer(raw: Any) -> ViewerRef:
    if not isinstance(raw, dict):
        raise BadRequest("viewer must be an object with platform, id and name")
    platform, vid, name = raw.get("platform"), raw.get("id"), raw.get("name", "")
    if not isinstance(platform, str) or not platform.strip():
        raise BadRequest("viewer.platform must be a non-empty string")
    if not isinstance(vid, str | int) or isinstance(vid, bool) or str(vid).strip() == "":
        raise BadRequest("viewer.id must be a non-empty string")
    if not isinstance(name, str):
        raise BadRequest("viewer.name must be a string")
    return ViewerRef(
        edge.clean_text(platform.strip(), edge.MAX_PLATFORM),
        edge.clean_text(str(vid).strip(), edge.MAX_VIEWER_ID),
        edge.clean_text(name.strip()),
    )


def _tiers(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise BadRequest("tiers must be a list of tier names")
    return sorted({edge.clean_text(t.strip(), 60) for t in raw if t.strip()})


class Web:
    def __init__(self, ctx: PluginContext[RoomConfig], room: Room, passes: Passes) -> None:
        self.ctx = ctx
        self.room = room
        self.passes = passes

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/room/{token}", self.page, auth="public"),
            Route("GET", "/room/{token}/ws", self.websocket, auth="public"),
            Route("GET", "/p/room/", self.dashboard, nav="Room"),
            Route("POST", "/p/room/media", self.upload),
            Route("GET", "/api/room/lines", self.lines),
            Route("POST", "/api/room/lines/{id}/delete", self.delete_line),
            Route("POST", "/api/room/timeout", self.timeout),
            Route("GET", "/api/room/members", self.members),
            Route("POST", "/api/room/members/link", self.member_link),
            Route("POST", "/api/room/members/revoke", self.member_revoke),
            Route("GET", "/api/room/posts", self.list_posts),
            Route("POST", "/api/room/posts", self.create_post),
            Route("PUT", "/api/room/posts/{id}", self.update_post),
            Route("DELETE", "/api/room/posts/{id}", self.delete_post),
            Route("POST", "/api/room/posts/{id}/announce", self.announce_post),
            Route("POST", "/api/room/preview", self.preview),
        ]

    # -- the members' side ---------------------------------------------------------------

    def _refuse(self, request: web.Request, reason: str, status: int = 403) -> web.StreamResponse:
        response = aiohttp_jinja2.render_template(
            "room/refused.html", request, {"reason": reason}, status=status
        )
        response.headers["X-Robots-Tag"] = "noindex"
        return secure(response)

    def _member(self, token: str) -> Pass:
        """The member a token lets in, or :class:`LinkError` with a sentence for them."""
        member = self.passes.check(token)
        if not self.room.allowed(member.viewer):
            raise LinkError(NOT_MEMBER)
        return member

    async def visible_posts(self, viewer: ViewerRef) -> list[dict[str, Any]]:
        out = []
        for post in await Post.all().order_by("-created_at", "-id").limit(100):
            if self.room.may_read(viewer, list(post.tiers)):
                out.append(
                    {
                        "id": post.id,
                        "title": post.title,
                        "html": render(post.body),
                        "created_at": post.created_at,
                    }
                )
        return out

    async def page(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        try:
            member = self._member(token)
        except LinkError as exc:
            return self._refuse(request, str(exc))
        name = self.room.named(member.viewer).name
        response = aiohttp_jinja2.render_template(
            "room/room.html",
            request,
            {
                "name": name,
                "tier": self.room.tier_of(member.viewer),
                "posts": await self.visible_posts(member.viewer),
                "ws_path": f"/room/{token}/ws",
                "max_message": self.ctx.config.max_message,
            },
        )
        response.headers["X-Robots-Tag"] = "noindex"
        return secure(response)

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        try:
            member = self._member(request.match_info["token"])
        except LinkError as exc:
            return self._refuse(request, str(exc))
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
        await ws.prepare(request)
        member = await self.passes.remember(self.room.named(member.viewer))
        client = self.room.hub.open(ws, member.viewer)
        client.offer(dumps(self.room.hello(member)))
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                await self._from_member(client, member, frame.data)
                if client.closed:
                    break
        finally:
            self.room.hub.forget(client)
        return ws

    async def _from_member(self, client: Any, member: Pass, raw: str) -> None:
        try:
            data = json.loads(raw)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        if not self.room.allowed(member.viewer):
            await self.room.hub.close_viewer(member.viewer, ENDED)
            return
        notice: str | None = None
        if kind == "say" and isinstance(data.get("text"), str):
            notice = await self.room.say(client, member, data["text"])
        elif kind in ("delete", "timeout"):
            if not self.room.is_moderator(member.viewer):
                notice = "Only moderators can do that."
            elif kind == "delete" and isinstance(data.get("id"), str):
                await self.room.delete(data["id"][:200])
            elif kind == "timeout" and isinstance(data.get("viewer"), str):
                target = self._viewer_of_line(data["viewer"])
                if target is None:
                    notice = "That member has no lines in the room right now."
                else:
                    await self.room.timeout(target, self.ctx.config.timeout_seconds)
        if notice:
            self.room.hub.send_to(member.viewer, dumps({"type": "notice", "text": notice}))

    def _viewer_of_line(self, key: str) -> ViewerRef | None:
        for message in reversed(self.room.messages.values()):
            if message.viewer is not None and viewer_key(message.viewer) == key:
                return message.viewer
        return None

    # -- the dashboard -------------------------------------------------------------------

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        vip = self.room.vip()
        tiers = [t.name for t in vip.tiers()] if vip is not None else []
        response = aiohttp_jinja2.render_template(
            "room/dashboard.html",
            request,
            {
                "config": self.ctx.config,
                "tiers": tiers,
                "room_tiers": self.room.room_tiers(vip) if vip is not None else [],
                "vip_running": vip is not None,
                "overlay_url": "/overlays/room",
            },
        )
        return secure(response)

    async def lines(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "lines": list(self.room.history),
                "online": [
                    {"viewer": viewer_key(v), "name": v.name} for v in self.room.hub.viewers()
                ],
            }
        )

    async def delete_line(self, request: web.Request) -> web.Response:
        line_id = request.match_info["id"]
        if not await self.room.delete(line_id):
            raise ApiError(404, "that line is not in the room (any more)")
        return web.json_response({"deleted": line_id})

    async def timeout(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        seconds = body.get("seconds", self.ctx.config.timeout_seconds)
        if (
            not isinstance(seconds, int)
            or isinstance(seconds, bool)
            or not 0 <= seconds <= 14 * 86400
        ):
            raise BadRequest("seconds must be a whole number from 0 (lift) to 1209600 (14 days)")
        viewer = _viewer(body.get("viewer"))
        if seconds == 0:
            member = await self.room.lift(viewer)
        else:
            member = await self.room.timeout(viewer, seconds)
        until = member.muted_until.isoformat() if member.muted_until else None
        return web.json_response({"viewer": viewer_key(viewer), "muted_until": until})

    def _member_row(self, member: Pass) -> dict[str, Any]:
        viewer = member.viewer
        allowed = self.room.allowed(viewer)
        token = self.passes.token_for(viewer) if allowed else None
        return {
            "viewer": viewer.to_wire(),
            "key": viewer_key(viewer),
            "allowed": allowed,
            "tier": self.room.tier_of(viewer),
            "link": self.ctx.url(f"/room/{token}") if token else None,
            "muted_until": member.muted_until.isoformat()
            if member.muted() and member.muted_until
            else None,
            "online": any(c.viewer.key == viewer.key for c in self.room.hub.clients),
        }

    async def members(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip().lower()[:100]
        rows = [
            self._member_row(p)
            for p in self.passes.known()
            if not query or query in p.viewer.name.lower() or query in p.viewer.id.lower()
        ]
        return web.json_response({"members": rows[:500]})

    async def member_link(self, request: web.Request) -> web.Response:
        viewer = _viewer((await json_object(request)).get("viewer"))
        if not self.room.allowed(viewer):
            raise ApiError(409, f"{viewer.name or viewer.id} holds no membership of a room tier")
        member = await self.passes.remember(viewer)
        return web.json_response({"member": self._member_row(member)})

    async def member_revoke(self, request: web.Request) -> web.Response:
        viewer = _viewer((await json_object(request)).get("viewer"))
        member = await self.room.revoke(viewer)
        return web.json_response({"member": self._member_row(member)})

    # -- posts ---------------------------------------------------------------------------

    @staticmethod
    def _post_row(post: Post) -> dict[str, Any]:
        return {
            "id": post.id,
            "title": post.title,
            "body": post.body,
            "tiers": list(post.tiers),
            "created_at": post.created_at.isoformat(),
            "updated_at": post.updated_at.isoformat(),
            "announced_at": post.announced_at.isoformat() if post.announced_at else None,
        }

    @staticmethod
    def _post_fields(body: dict[str, Any]) -> dict[str, Any]:
        title, text = body.get("title", ""), body.get("body", "")
        if not isinstance(title, str) or not title.strip():
            raise BadRequest("title must be a non-empty string")
        if not isinstance(text, str):
            raise BadRequest("body must be a string (Markdown)")
        if len(text) > MAX_BODY:
            raise BadRequest(f"body must be at most {MAX_BODY} characters")
        return {
            "title": edge.clean_text(title.strip(), MAX_TITLE),
            "body": edge.clean_text(text, MAX_BODY, multiline=True),
            "tiers": _tiers(body.get("tiers")),
        }

    async def _post(self, request: web.Request) -> Post:
        try:
            post_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the post id must be an integer") from None
        post = await Post.get_or_none(id=post_id)
        if post is None:
            raise ApiError(404, f"no post {post_id}")
        return post

    async def list_posts(self, request: web.Request) -> web.Response:
        posts = await Post.all().order_by("-created_at", "-id")
        return web.json_response({"posts": [self._post_row(p) for p in posts]})

    async def create_post(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        post = await Post.create(**self._post_fields(body))
        if body.get("announce") is True:
            await self.announce(post)
        return web.json_response({"post": self._post_row(post)}, status=201)

    async def update_post(self, request: web.Request) -> web.Response:
        post = await self._post(request)
        fields = self._post_fields(await json_object(request))
        for name, value in fields.items():
            setattr(post, name, value)
        await post.save()
        return web.json_response({"post": self._post_row(post)})

    async def delete_post(self, request: web.Request) -> web.Response:
        post = await self._post(request)
        await post.delete()
        return web.json_response({"deleted": post.id})

    async def announce_post(self, request: web.Request) -> web.Response:
        post = await self._post(request)
        await self.announce(post)
        return web.json_response({"post": self._post_row(post)})

    async def announce(self, post: Post) -> None:
        """Say in chat that there is a new post (on every platform's main channel)."""
        text = fill(self.ctx.config.announce_text, title=post.title, command="!room")
        await self.ctx.chat.say(text)
        post.announced_at = datetime.now(UTC)
        await post.save(update_fields=["announced_at"])

    async def preview(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        text = body.get("body", "")
        if not isinstance(text, str):
            raise BadRequest("body must be a string (Markdown)")
        return web.json_response({"html": render(text)})

    async def upload(self, request: web.Request) -> web.Response:
        if request.content_type != "multipart/form-data":
            raise ApiError(415, "send the image as multipart/form-data (field: file)")
        reader = await request.multipart()
        data = b""
        async for part in reader:
            if getattr(part, "name", None) != "file":
                continue
            chunks = bytearray()
            while chunk := await part.read_chunk():  # type: ignore[union-attr]
                chunks += chunk
                if len(chunks) > MAX_UPLOAD:
                    raise ApiError(
                        413, f"the image must be at most {MAX_UPLOAD // 1024 // 1024} MB"
                    )
            data = bytes(chunks)
            break
        if not data:
            raise BadRequest("no file in the upload (field: file)")
        try:
            stored = await self.ctx.media.store(data, kinds=("image",), max_bytes=MAX_UPLOAD)
        except MediaError as exc:
            raise BadRequest(str(exc)) from None
        return web.json_response({"url": stored.url, "markdown": f"![]({stored.url})"})


__all__ = ["Web"]
