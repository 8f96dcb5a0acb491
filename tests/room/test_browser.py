"""The members' room in a real browser (headless Chromium via Playwright), phone-sized.

Each page is watched for dialogs, page errors and requests; any request that would leave
the server is blocked and recorded, so the XSS test can prove nothing runs or phones home.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from limelight import Emote, NoConfig, Plugin, ViewerRef, hookimpl
from limelight.registry import Badge
from limelight.testing import OVERLAY_TOKEN, make_settings, start_harness
from limelight_room import RoomPlugin

from tests.overlays.test_browser import CANARY, CHROMIUM_ARGS, PAYLOADS
from tests.support import chromium_path, need, wait_until

from .vip_double import FakeVip

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "room"
PHONE = {"width": 360, "height": 740}
ALICE = ViewerRef("twitch", "1001", "Alice")
BOB = ViewerRef("twitch", "1002", "Bob")
NOBODY = ViewerRef("twitch", "1003", "Nobody")


class Perks(Plugin[NoConfig]):
    """A member badge and a members' emote, as the VIP plugin awards them."""

    @hookimpl
    def register_badges(self, register: Any) -> None:
        register(Badge("member", "Member", "/-/theme/img/star.svg"))

    def emotes(self, codes: list[str]) -> None:
        vip = self.ctx.peer("vip", FakeVip)

        def allowed(v):
            return v is not None and vip is not None and vip.is_member(v)

        self.ctx.emotes.replace(
            "perks", [Emote(code, "/-/uploads/nope.png", allowed=allowed) for code in codes]
        )


@dataclass
class Writer:
    viewer: ViewerRef


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Any]:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="module")
async def server(tmp_path: Path) -> AsyncIterator[Any]:
    settings = make_settings(tmp_path, {"plugins": {"room": {"overlay_seconds": 0, "rate": 100}}})
    h = await start_harness(settings, {"vip": FakeVip, "room": RoomPlugin, "perks": Perks})
    try:
        yield h
    finally:
        await h.close()


@dataclass
class Watched:
    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="module")
async def open_page(browser: Any, server: Any) -> AsyncIterator[Any]:
    contexts: list[Any] = []
    origin = urlsplit(server.url("/")).netloc

    async def opener(path: str, viewport: dict[str, int] = PHONE) -> Watched:
        context = await browser.new_context(viewport=viewport)
        contexts.append(context)
        page = await context.new_page()
        watched = Watched(page)

        async def guard(route: Any) -> None:
            if urlsplit(route.request.url).netloc == origin:
                await route.continue_()
            else:
                watched.blocked.append(route.request.url)
                await route.abort()

        async def on_dialog(dialog: Any) -> None:
            watched.dialogs.append(dialog.message)
            await dialog.dismiss()

        await page.route("**/*", guard)
        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: watched.errors.append(str(e)))
        await page.goto(server.url(path))
        return watched

    yield opener
    for context in contexts:
        await context.close()


async def member(server: Any, viewer: ViewerRef, tier: str = "silver") -> str:
    vip = server.plugin("vip", FakeVip)
    await vip.grant(viewer, tier, duration=timedelta(days=30), source="t", source_id=viewer.id)
    await server.settle()
    token = server.plugin("room", RoomPlugin).passes.token_for(viewer)
    return f"/room/{token}"


async def connected(w: Watched) -> None:
    await w.page.wait_for_function(
        "() => !document.getElementById('room-input').disabled", timeout=10_000
    )


async def say(w: Watched, text: str) -> None:
    await w.page.fill("#room-input", text)
    await w.page.click("#room-send")


async def test_a_member_enters_and_another_sees_the_message_live(open_page, server):
    alice = await open_page(await member(server, ALICE))
    bob = await open_page(await member(server, BOB, "gold"))
    await connected(alice)
    await connected(bob)
    server.services.badges.award(ALICE, "member")
    await say(alice, "Hello from my phone :)")
    await bob.page.wait_for_function(
        "() => [...document.querySelectorAll('#room-lines li')]"
        ".some(li => li.textContent.includes('Hello from my phone'))",
        timeout=5_000,
    )
    line = bob.page.locator("#room-lines li").last
    assert await line.locator(".name").text_content() == "Alice"
    assert await line.locator("img.badge").count() == 1
    # Nothing overflows a 360 px phone.
    width = await bob.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await bob.page.screenshot(path=str(OUTPUT / "room-phone.png"))
    # The posts tab.
    await bob.page.click("#tab-posts")
    assert await bob.page.locator("#panel-posts").is_visible()
    assert not await bob.page.locator("#panel-chat").is_visible()
    for w in (alice, bob):
        assert w.errors == [] and w.dialogs == [] and w.blocked == []


async def test_a_non_member_and_a_revoked_link_get_the_refusal_page(open_page, server):
    room = server.plugin("room", RoomPlugin)
    stranger = await open_page(f"/room/{room.passes.token_for(NOBODY)}")
    heading = await stranger.page.locator("h1").text_content()
    assert heading == "The members' room is closed for this link"
    assert "for members" in await stranger.page.locator("#refused-reason").text_content()
    old = await member(server, ALICE)
    await room.room.revoke(ALICE)
    revoked = await open_page(old)
    assert "revoked" in await revoked.page.locator("#refused-reason").text_content()
    await revoked.page.screenshot(path=str(OUTPUT / "refused-phone.png"))
    garbage = await open_page("/room/not-a-real-link")
    assert await garbage.page.locator("h1").text_content() == heading
    for w in (stranger, revoked, garbage):
        assert w.errors == [] and w.blocked == []


async def test_a_membership_expiring_during_an_open_session_closes_it(open_page, server):
    alice = await open_page(await member(server, ALICE))
    await connected(alice)
    await server.plugin("vip", FakeVip).end(ALICE, "expired")
    await alice.page.wait_for_function(
        "() => document.body.classList.contains('room-ended')", timeout=5_000
    )
    status = await alice.page.locator("#room-status").text_content()
    assert "membership has ended" in status
    assert not await alice.page.locator("#room-form").is_visible()
    await alice.page.screenshot(path=str(OUTPUT / "ended-phone.png"))
    # It stays closed (no reconnect loop): the socket is gone and stays gone.
    await wait_until(lambda: not server.plugin("room", RoomPlugin).room.hub.clients)


async def test_xss_corpus_in_names_messages_posts_and_emote_codes_runs_nothing(open_page, server):
    room = server.plugin("room", RoomPlugin)
    server.plugin("perks", Perks).emotes([p for p in PAYLOADS if len(p) < 200] + ["limeOk"])
    for _i, payload in enumerate(PAYLOADS):
        await server.client.post(
            "/api/room/posts",
            json={"title": payload[:200], "body": f"{payload}\n\n[x]({payload}) ![y]({payload})"},
            headers=server.admin_headers,
        )
    reader = await open_page(await member(server, BOB))
    await connected(reader)
    writers = [ViewerRef("twitch", f"x{i}", p[:200]) for i, p in enumerate(PAYLOADS)]
    for viewer in writers:
        await member(server, viewer)
    for viewer, payload in zip(writers, PAYLOADS, strict=True):
        # Each writer speaks as if from their own room page (room.say is what the page's
        # WebSocket handler calls); the rate limit is per writer.
        await room.room.say(
            Writer(viewer), await room.passes.remember(viewer), f":limeOk: :{payload}: {payload}"
        )  # type: ignore[arg-type]
    await server.settle()
    await reader.page.wait_for_function(
        f"() => document.querySelectorAll('#room-lines li').length === {len(PAYLOADS)}",
        timeout=10_000,
    )
    assert await reader.page.locator("#room-lines img.emote").count() == len(PAYLOADS)
    await reader.page.click("#tab-posts")
    assert await reader.page.locator(".room-post").count() == len(PAYLOADS)
    overlay = await open_page(
        f"/overlays/room?token={OVERLAY_TOKEN}", {"width": 480, "height": 360}
    )
    assert await overlay.page.evaluate(f"typeof {CANARY}") == "undefined"
    assert await reader.page.evaluate(f"typeof {CANARY}") == "undefined"
    assert reader.dialogs == [] and reader.blocked == [] and reader.errors == []
    assert (
        await reader.page.locator(
            "#panel-posts script, #panel-posts iframe, #panel-posts [onerror], #room-lines script"
        ).count()
        == 0
    )


async def test_the_room_overlay_shows_the_newest_lines_and_is_empty_when_idle(open_page, server):
    overlay = await open_page(
        f"/overlays/room?token={OVERLAY_TOKEN}", {"width": 480, "height": 360}
    )
    await overlay.page.wait_for_function(
        "() => window.Limelight && window.Limelight.connected", timeout=10_000
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    idle_text = await overlay.page.evaluate("document.body.innerText.trim()")
    assert idle_text == ""
    await overlay.page.screenshot(path=str(OUTPUT / "overlay-idle.png"))
    alice = await open_page(await member(server, ALICE))
    await connected(alice)
    lines = [
        "First!",
        "This stream is the best thing on a Tuesday night, honestly",
        "gg",
        "Can we get a members-only Q&A next week? I have so many questions about the build",
        "👋 hi everyone",
        "love this room",
        "last one",
    ]
    for text in lines:
        await say(alice, text)
        await alice.page.wait_for_function(
            f"() => document.querySelectorAll('#room-lines li').length >= {lines.index(text) + 1}"
        )
    await overlay.page.wait_for_function(
        "() => [...document.querySelectorAll('#room-overlay-lines li')]"
        ".some(li => li.textContent.includes('last one'))",
        timeout=5_000,
    )
    count = await overlay.page.locator("#room-overlay-lines li").count()
    assert 1 <= count <= 6
    box = await overlay.page.evaluate(
        "(() => { const r = document.getElementById('room-overlay-lines').getBoundingClientRect();"
        " return [r.top, r.bottom, r.right, document.documentElement.scrollWidth]; })()"
    )
    assert box[0] >= 0 and box[1] <= 360 and box[2] <= 480 and box[3] <= 480
    await overlay.page.screenshot(path=str(OUTPUT / "overlay-lines.png"))
    assert overlay.errors == [] and overlay.blocked == []


async def test_the_dashboard_moderates_and_edits_posts_in_chromium(open_page, server):
    from limelight.testing import ADMIN_TOKEN

    alice = await open_page(await member(server, ALICE))
    await connected(alice)
    await say(alice, "a line to delete")
    admin = await open_page("/admin/login", {"width": 1280, "height": 900})
    await admin.page.fill("input[name=token]", ADMIN_TOKEN)
    await admin.page.click("button[type=submit]")
    await admin.page.wait_for_url("**/admin/**")
    await admin.page.goto(server.url("/p/room/"))
    # Moderation: the live line, deleted from the dashboard, leaves the member's page.
    line = admin.page.locator("#room-lines li", has_text="a line to delete")
    await line.wait_for(timeout=10_000)
    await line.locator("button", has_text="Delete").click()
    await alice.page.wait_for_function(
        "() => ![...document.querySelectorAll('#room-lines li')]"
        ".some(li => li.textContent.includes('a line to delete'))",
        timeout=5_000,
    )
    # Member links: Alice is listed with a link that opens her room.
    row = admin.page.locator("#room-members tr", has_text="Alice")
    await row.wait_for(timeout=5_000)
    link = await row.locator("input").input_value()
    assert link == server.plugin("room", RoomPlugin).link_for(ALICE)
    # The post editor: preview (sanitised), save, listed, readable by the member.
    await admin.page.fill("input[name=title]", "Behind the scenes")
    await admin.page.fill(
        "textarea[name=body]", "**Thanks** for being here <img src=x onerror=window.__pwned=1>"
    )
    await admin.page.click("#room-preview-button")
    await admin.page.locator("#room-preview strong", has_text="Thanks").wait_for(timeout=5_000)
    await admin.page.click("#room-post-form button[type=submit]")
    await admin.page.locator("#room-posts li", has_text="Behind the scenes").wait_for(timeout=5_000)
    await alice.page.reload()
    await alice.page.click("#tab-posts")
    assert await alice.page.locator(".room-post h2").first.text_content() == "Behind the scenes"
    assert await admin.page.evaluate(f"typeof {CANARY}") == "undefined"
    assert admin.errors == [] and admin.blocked == [] and admin.dialogs == []
    await admin.page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
