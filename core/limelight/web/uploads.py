"""``POST /admin/media``: the dashboard's one upload route (alert images, GIFs, videos and
sounds from the alert editor; any plugin page may use it too).

The body is ``multipart/form-data`` with a ``file`` field and a ``kind`` field (``image``,
``audio``, ``video`` or ``visual`` for an image or a video). It is a dashboard route, not an
``/api/`` one (those take JSON only), and it goes through the request guard like every
other: a session request needs the ``X-CSRF-Token`` header (``window.limelightFetch`` sends
it) and this server's origin; a Bearer admin token works too. The file is read as a stream
with a cap, so the server-wide ``[server] max_body`` does not limit it and a huge upload is
refused before it is in memory; :class:`~limelight.media.MediaStore` then checks the type
from the bytes, the size per kind and stores it under its hash.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from ..media import MediaError
from .auth import AuthError, require_admin
from .errors import ApiError
from .keys import SERVICES, SETTINGS

#: What each ``kind`` field accepts.
KINDS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "audio": ("audio",),
    "video": ("video",),
    "visual": ("image", "video"),
}
CHUNK = 64 * 1024


async def upload(request: web.Request) -> web.Response:
    """Answers in JSON, errors included (``{"error": ...}``), for the page's script."""
    try:
        return await _upload(request)
    except (ApiError, AuthError) as exc:
        message = exc.message if isinstance(exc, ApiError) else exc.text or exc.reason
        return web.json_response({"error": message}, status=exc.status)


async def _upload(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    require_admin(request, settings)
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "send the file as multipart/form-data (fields kind and file)")
    store = request.app[SERVICES].media
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError):
        raise ApiError(400, "unreadable multipart body") from None
    kind = "image"
    data: bytes | None = None
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "kind":
            kind = (await part.text()).strip()[:20]
            if kind not in KINDS:
                raise ApiError(400, f"kind must be one of {', '.join(KINDS)}")
        elif part.name == "file":
            cap = max(store.limits[k] for k in KINDS[kind])
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise ApiError(413, f"the file is larger than {cap // (1024 * 1024)} MB")
                chunks.append(chunk)
            data = b"".join(chunks)
    if data is None:
        raise ApiError(400, "no file in the upload (field name: file)")
    try:
        stored = await store.store(data, kinds=KINDS[kind])
    except MediaError as exc:
        raise ApiError(400, str(exc)) from None
    return web.json_response(
        {
            "url": stored.url,
            "kind": stored.kind,
            "type": stored.type.content_type,
            "size": stored.size,
            "width": stored.dimensions[0] if stored.dimensions else None,
            "height": stored.dimensions[1] if stored.dimensions else None,
        },
        status=201,
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/admin/media", upload, name="admin-media")
