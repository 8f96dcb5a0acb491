"""Exclusive posts: Markdown rendered and sanitised, per-tier visibility, images from the
media folder, announcements, the dashboard API."""

from __future__ import annotations

import struct
import zlib
from html.parser import HTMLParser

import aiohttp
import pytest
from limelight_room.content import render

from tests.overlays.test_browser import PAYLOADS

from .conftest import ALICE, BOB, make_member, room_path

SAFE_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul", "article", "div", "time",
}  # fmt: skip


class Elements(HTMLParser):
    """Every element and attribute the browser would build from some HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def problems(html: str) -> list[str]:
    """What in ``html`` could run script or reach another host (empty: nothing)."""
    parser = Elements()
    parser.feed(html)
    out = []
    for tag, attrs in parser.found:
        if tag not in SAFE_TAGS:
            out.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("style", "srcset", "formaction"):
                out.append(f"{tag} {name}")
            if name == "href" and not value.startswith(("https://", "http://", "mailto:", "#")):
                out.append(f"{tag} href={value}")
            if name == "href" and "evil" in value:
                out.append(f"{tag} href to {value}")
            if name == "src" and not value.startswith("/-/uploads/"):
                out.append(f"{tag} src={value}")
    return out


def png(width: int = 4, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def upload_form(data: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="picture.png", content_type="image/png")
    return form


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_xss_payload_renders_harmless(payload):
    for text in (payload, f"[x]({payload})", f"![x]({payload})", f"`{payload}`\n\n> {payload}"):
        assert problems(render(text)) == [], render(text)


def test_markdown_renders_what_a_post_needs():
    html = render(
        "# Title\n\n**bold** _it_ ~~old~~\n\n- one\n- two\n\n"
        "[site](https://example.com) ![pic](/-/uploads/abc.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<del>old</del>" in html or "<s>old</s>" in html
    assert (
        '<a href="https://example.com" target="_blank" rel="noopener noreferrer nofollow">' in html
    )
    assert '<img src="/-/uploads/abc.png" alt="pic">' in html
    assert "<table>" in html
    # Images from anywhere but the media folder lose their source.
    assert "src" not in render("![x](https://example.com/a.png)")
    assert "src" not in render("![x](/-/uploads/../../etc/passwd)")


async def test_posts_from_the_dashboard_reach_members_of_their_tiers(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE, "silver")
    await make_member(vip, BOB, "gold")
    headers = await h.login()
    upload = await h.client.post(
        "/p/room/media",
        data=upload_form(png()),
        headers=headers,
    )
    assert upload.status == 200, await upload.text()
    image = (await upload.json())["url"]
    assert image.startswith("/-/uploads/") and (await h.client.get(image)).status == 200
    bad = await h.client.post("/p/room/media", data=upload_form(b"<svg onload=x>"), headers=headers)
    assert bad.status == 400
    made = await h.client.post(
        "/api/room/posts",
        json={"title": "For everyone", "body": f"Hello **members** ![behind the scenes]({image})"},
        headers=headers,
    )
    assert made.status == 201, await made.text()
    gold = await h.client.post(
        "/api/room/posts",
        json={"title": "Gold only", "body": "secret plans", "tiers": ["gold"], "announce": True},
        headers=headers,
    )
    assert gold.status == 201
    await h.settle()
    assert h.said[-1].text == "New for members: Gold only. Members get the link with !room"
    alice_page = await (await h.client.get(room_path(room, ALICE))).text()
    bob_page = await (await h.client.get(room_path(room, BOB))).text()
    assert "For everyone" in alice_page and "<strong>members</strong>" in alice_page
    assert f'<img src="{image}" alt="behind the scenes">' in alice_page
    assert "Gold only" not in alice_page and "secret plans" not in alice_page
    assert "Gold only" in bob_page and "secret plans" in bob_page
    # Edit, preview, delete.
    post_id = (await gold.json())["post"]["id"]
    edited = await h.client.put(
        f"/api/room/posts/{post_id}",
        json={"title": "Gold only", "body": "new plans", "tiers": []},
        headers=headers,
    )
    assert edited.status == 200
    assert "new plans" in await (await h.client.get(room_path(room, ALICE))).text()
    preview = await h.client.post(
        "/api/room/preview", json={"body": "<script>x</script> *hi*"}, headers=headers
    )
    assert (await preview.json())["html"] == "<p>&lt;script&gt;x&lt;/script&gt; <em>hi</em></p>\n"
    listed = await (await h.client.get("/api/room/posts", headers=headers)).json()
    assert [p["title"] for p in listed["posts"]] == ["Gold only", "For everyone"]
    assert (await h.client.delete(f"/api/room/posts/{post_id}", headers=headers)).status == 200
    assert (await h.client.delete(f"/api/room/posts/{post_id}", headers=headers)).status == 404
    assert "new plans" not in await (await h.client.get(room_path(room, ALICE))).text()


@pytest.mark.parametrize(
    "body, error",
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "t", "body": 5}, "body"),
        ({"title": "t", "body": "x", "tiers": "gold"}, "tiers"),
        ({"title": "t", "body": "x" * 60_000}, "at most"),
    ],
)
async def test_bad_posts_are_refused_with_a_reason(room_harness, body, error):
    h, _room, _vip, _ = await room_harness()
    response = await h.client.post("/api/room/posts", json=body, headers=h.admin_headers)
    assert response.status == 400
    assert error in (await response.json())["error"]


async def test_xss_corpus_in_posts_stays_inert_on_the_members_page(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    for i, payload in enumerate(PAYLOADS):
        response = await h.client.post(
            "/api/room/posts",
            json={"title": payload[:200], "body": f"{payload}\n\n[link]({payload})"},
            headers=h.admin_headers,
        )
        assert response.status == 201, (i, await response.text())
    page = await (await h.client.get(room_path(room, ALICE))).text()
    posts = page.split('id="panel-posts"', 1)[1].split("</main>")[0]
    assert posts.count("<article") == len(PAYLOADS)
    assert problems(posts) == []


async def test_member_links_in_the_dashboard(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    headers = await h.login()
    page = await h.client.get("/p/room/")
    assert page.status == 200 and "unsafe-inline" not in page.headers["Content-Security-Policy"]
    refused = await h.client.post(
        "/api/room/members/link",
        json={"viewer": {"platform": "twitch", "id": "1002", "name": "Bob"}},
        headers=headers,
    )
    assert refused.status == 409
    made = await h.client.post(
        "/api/room/members/link",
        json={"viewer": {"platform": "twitch", "id": "1001", "name": "Alice"}},
        headers=headers,
    )
    member = (await made.json())["member"]
    assert member["allowed"] and member["tier"] == "silver"
    assert member["link"] == room.link_for(ALICE)
    listed = await (await h.client.get("/api/room/members?q=ali", headers=headers)).json()
    assert [m["viewer"]["name"] for m in listed["members"]] == ["Alice"]
    # Without the CSRF token, the dashboard session cannot revoke.
    forged = await h.client.post(
        "/api/room/members/revoke",
        json={"viewer": {"platform": "twitch", "id": "1001"}},
        headers={"Origin": headers["Origin"]},
    )
    assert forged.status == 403
    assert room.link_for(ALICE) == member["link"]
