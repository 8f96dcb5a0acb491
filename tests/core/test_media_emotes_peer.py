"""The media folder, the emote splitter and ``ctx.peer``: the three core services later
plugins (VIP emotes, the shop's pictures, the alert editor) build on."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from limelight import Emote, Placed, Plugin, ViewerRef
from limelight.emotes import EmoteBook
from limelight.media import MediaError, MediaStore, image_size, sniff


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x00\x00\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


GIF = b"GIF89a" + struct.pack("<HH", 28, 30) + b"\x00" * 20
OGG = b"OggS" + b"\x00" * 60


def test_store_sniffs_content_not_name_and_dedupes(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    first = store.save(png(28, 28))
    again = store.save(png(28, 28))
    assert first == again and first.name.endswith(".png") and first.dimensions == (28, 28)
    assert store.path(first.name) == tmp_path / "media" / first.name
    assert first.url == "/-/uploads/" + first.name
    assert [p.name for p in (tmp_path / "media").iterdir()] == [first.name]


@pytest.mark.parametrize(
    ("data", "kinds", "message"),
    [
        (b"", ("image",), "empty"),
        (b"<svg onload=alert(1)>", ("image",), "not a supported image"),
        (OGG, ("image",), "this is audio"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 4, ("image",), "damaged"),
    ],
)
def test_store_refuses_with_a_reason(
    tmp_path: Path, data: bytes, kinds: tuple[str, ...], message: str
) -> None:
    store = MediaStore(tmp_path)
    with pytest.raises(MediaError, match=message):
        store.save(data, kinds=kinds)
    assert list(tmp_path.iterdir()) == []


def test_store_caps_size_and_dimensions(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, {"image": 2048})
    with pytest.raises(MediaError, match="the most an image may be is 2 KB"):
        store.save(png(28, 28) + b"\x00" * 4096)
    with pytest.raises(MediaError, match="28x30 px; the most is 28x28 px"):
        store.save(GIF, max_dimensions=(28, 28))
    assert store.save(OGG, kinds=("audio",)).kind == "audio"


def test_path_refuses_names_that_are_not_uploads(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    (tmp_path / "secret.txt").write_text("x")
    assert store.path("../secret.txt") is None
    assert store.path("secret.txt") is None
    assert store.path("0" * 64 + ".png") is None  # well formed, absent


def test_sniff_and_size() -> None:
    assert sniff(GIF) is not None and image_size(GIF) == (28, 30)
    assert sniff(b"hello") is None


def member(viewer: ViewerRef | None) -> bool:
    return viewer is not None and viewer.id == "1"


def test_emotes_split_for_allowed_viewers_only() -> None:
    book = EmoteBook()
    book.replace("vip", [Emote("hype", "/-/uploads/a.png", member), Emote("wave", "/w.png")])
    alice, bob = ViewerRef("twitch", "1", "alice"), ViewerRef("twitch", "2", "bob")
    assert book.split("go :hype: now", alice) == [
        {"text": "go "},
        {"emote": ":hype:", "url": "/-/uploads/a.png"},
        {"text": " now"},
    ]
    assert book.split("go :hype: :wave:", bob) == [
        {"text": "go :hype: "},
        {"emote": ":wave:", "url": "/w.png"},
    ]
    book.replace("vip", [])
    assert book.split(":hype:", alice) == [{"text": ":hype:"}]


def test_emotes_positional_first_and_bad_ranges_stay_text() -> None:
    book = EmoteBook()
    text = "Kappa <b>x</b> Kappa"
    parts = book.split(
        text,
        None,
        [
            Placed(0, 4, "Kappa", "/k.png"),
            Placed(15, 19, "Kappa", "/k.png"),
            Placed(3, 99, "x", ""),
        ],
    )
    assert parts == [
        {"emote": "Kappa", "url": "/k.png"},
        {"text": " <b>x</b> "},
        {"emote": "Kappa", "url": "/k.png"},
    ]


class Api(Plugin[Any]):
    def hello(self) -> str:
        return "hi"


async def test_peer_returns_the_typed_plugin_only_when_enabled(limelight: Any) -> None:
    api = Api()
    h = await limelight({"api": api, "other": Api()})
    ctx = h.host.contexts["other"]
    assert ctx.peer("api", Api) is api
    assert ctx.peer("missing", Api) is None
    assert ctx.peer("api", EmoteBook) is None
    h.host.disable("api", "test")
    assert ctx.peer("api", Api) is None


async def test_uploads_are_served_with_type_and_cache(limelight: Any) -> None:
    h = await limelight()
    stored = h.services.media.save(png(4, 4))
    response = await h.client.get(stored.url)
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.read() == png(4, 4)
    assert (await h.client.get("/-/uploads/" + "0" * 64 + ".png")).status == 404
    assert (await h.client.get("/-/uploads/..%2fconfig.toml")).status == 404
