"""Uploaded media (alert images and sounds, emotes, product pictures): checked, stored
once, served from one place.

Every page that takes an upload (the alert editor, VIP emotes, the shop's catalog) goes
through :class:`MediaStore`, so the checks are written once: the type is read from the
file's own bytes (never from its name or the browser's claim), the size is capped per kind,
and the file is stored under the SHA-256 of its content. Content addressing makes a name
unguessable, lets the same picture uploaded twice take the space once, and lets browsers
and OBS cache a file forever (it can never change under its name).

Files are served at ``/-/uploads/<name>`` without a token: they are the streamer's own
pictures and sounds, meant for overlays, the members' room and the public drop page.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import struct
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

#: Where uploads are served.
UPLOADS = "/-/uploads/"

_NAME = re.compile(r"^[0-9a-f]{64}\.(png|gif|webp|jpg|svg|mp3|ogg|wav|webm|mp4)$")


class MediaError(ValueError):
    """An upload that cannot be stored; ``str()`` says why, for the streamer."""


@dataclass(frozen=True, slots=True)
class MediaType:
    kind: str  # "image", "audio" or "video"
    ext: str
    content_type: str


PNG = MediaType("image", "png", "image/png")
GIF = MediaType("image", "gif", "image/gif")
WEBP = MediaType("image", "webp", "image/webp")
JPEG = MediaType("image", "jpg", "image/jpeg")
MP3 = MediaType("audio", "mp3", "audio/mpeg")
OGG = MediaType("audio", "ogg", "audio/ogg")
WAV = MediaType("audio", "wav", "audio/wav")
WEBM = MediaType("video", "webm", "video/webm")
MP4 = MediaType("video", "mp4", "video/mp4")

BY_EXT = {t.ext: t for t in (PNG, GIF, WEBP, JPEG, MP3, OGG, WAV, WEBM, MP4)}


def sniff(data: bytes) -> MediaType | None:
    """The type ``data`` really is, from its leading bytes; ``None`` when not one we serve.

    SVG is deliberately absent: it can carry script."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    if head[:4] == b"OggS":
        return OGG
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM
    if head[4:8] == b"ftyp":
        return MP4
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, WebP or JPEG, read from its header; ``None`` if the
    header cannot be read (a truncated or odd file)."""
    try:
        if data.startswith(b"\x89PNG"):
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8X":
                w = int.from_bytes(data[24:27], "little") + 1
                h = int.from_bytes(data[27:30], "little") + 1
                return w, h
            if chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return int(w) & 0x3FFF, int(h) & 0x3FFF
            return None
        if data[:3] == b"\xff\xd8\xff":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    return None
                marker = data[i + 1]
                length = int.from_bytes(data[i + 2 : i + 4], "big")
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return int(w), int(h)
                i += 2 + length
    except struct.error:
        return None
    return None


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """One stored upload."""

    name: str
    type: MediaType
    size: int
    #: Pixel size for images (``None`` for sound and video).
    dimensions: tuple[int, int] | None = None

    @property
    def url(self) -> str:
        """The path it is served at (relative to the server; ``ctx.url()`` makes it
        absolute)."""
        return UPLOADS + self.name

    @property
    def kind(self) -> str:
        return self.type.kind


#: Default caps per kind, in bytes.
DEFAULT_LIMITS = {"image": 5 * 1024 * 1024, "audio": 10 * 1024 * 1024, "video": 50 * 1024 * 1024}


class MediaStore:
    """The media folder (``[media] dir``)."""

    def __init__(self, folder: Path, limits: dict[str, int] | None = None) -> None:
        self.folder = folder
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}

    def check(
        self,
        data: bytes,
        *,
        kinds: Collection[str] = ("image",),
        max_bytes: int | None = None,
        max_dimensions: tuple[int, int] | None = None,
    ) -> StoredMedia:
        """What ``data`` would be stored as, or :class:`MediaError` saying why it cannot."""
        if not data:
            raise MediaError("the file is empty")
        found = sniff(data)
        allowed = " or ".join(sorted(kinds))
        if found is None:
            raise MediaError(
                f"not a supported {allowed} file (images: PNG, GIF, WebP, JPEG; "
                "sounds: MP3, OGG, WAV; videos: WebM, MP4)"
            )
        if found.kind not in kinds:
            raise MediaError(f"this is {found.kind} ({found.ext}); expected {allowed}")
        cap = min(max_bytes or self.limits[found.kind], self.limits[found.kind])
        if len(data) > cap:
            raise MediaError(
                f"the file is {_size(len(data))}; the most {_a(found.kind)} may be is {_size(cap)}"
            )
        dims = image_size(data) if found.kind == "image" else None
        if found.kind == "image" and dims is None:
            raise MediaError(f"the {found.ext} file is damaged (its size cannot be read)")
        if max_dimensions is not None and dims is not None:
            mw, mh = max_dimensions
            if dims[0] > mw or dims[1] > mh:
                raise MediaError(f"the image is {dims[0]}x{dims[1]} px; the most is {mw}x{mh} px")
        digest = hashlib.sha256(data).hexdigest()
        return StoredMedia(f"{digest}.{found.ext}", found, len(data), dims)

    def save(
        self,
        data: bytes,
        *,
        kinds: Collection[str] = ("image",),
        max_bytes: int | None = None,
        max_dimensions: tuple[int, int] | None = None,
    ) -> StoredMedia:
        """Check and store ``data``; storing the same bytes twice is a no-op."""
        media = self.check(data, kinds=kinds, max_bytes=max_bytes, max_dimensions=max_dimensions)
        target = self.folder / media.name
        if not target.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return media

    async def store(
        self,
        data: bytes,
        *,
        kinds: Collection[str] = ("image",),
        max_bytes: int | None = None,
        max_dimensions: tuple[int, int] | None = None,
    ) -> StoredMedia:
        """:meth:`save` off the event loop (a 50 MB video's fsync must not stall chat)."""
        return await asyncio.to_thread(
            self.save, data, kinds=kinds, max_bytes=max_bytes, max_dimensions=max_dimensions
        )

    def path(self, name: str) -> Path | None:
        """The file behind a served name, or ``None`` for a name that is not one of ours."""
        if not _NAME.match(name):
            return None
        target = self.folder / name
        return target if target.is_file() else None

    @staticmethod
    def type_of(name: str) -> MediaType:
        """The type a stored name was checked to be (from its extension, which
        :meth:`save` wrote from the sniffed bytes)."""
        return BY_EXT[name.rsplit(".", 1)[1]]

    def get(self, name: str) -> StoredMedia | None:
        """A stored upload by name (for a page that shows what it references)."""
        target = self.path(name)
        if target is None:
            return None
        kind = BY_EXT.get(name.rsplit(".", 1)[1])
        if kind is None:
            return None
        return StoredMedia(name, kind, target.stat().st_size)


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


__all__ = [
    "UPLOADS",
    "MediaError",
    "MediaStore",
    "MediaType",
    "StoredMedia",
    "image_size",
    "sniff",
]
