"""VIP in a real browser (headless Chromium via Playwright): member emotes render as <img>
only for members in the chat overlay, member lines are highlighted, the XSS corpus in
names, messages and emote attempts runs nothing, and the members wall fits its size (and
is empty with no members)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from limelight import ChatMessage, ViewerRef
from limelight.testing import OVERLAY_TOKEN, Harness, make_settings, start_harness
from limelight_alerts import AlertsPlugin
from limelight_vip import VipPlugin
from limelight_vip.models import TierEmote

from tests.overlays.test_browser import PAYLOADS
from tests.support import chromium_path, need

from .doubles import png

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "vip"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FAST_THEME = {"alert_gap": "10ms", "alert_in": "0ms", "alert_out": "0ms"}
CONFIG = {
    "overlays": {"theme": FAST_THEME},
    "plugins": {
        "vip": {
            "tiers": [
                {"name": "fan", "label": "Fan", "badge": "F"},
                {"name": "gold", "label": "Gold", "colour": "#f5a623", "highlight": True},
            ]
        }
    },
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Any]:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def server(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await start_harness(
        make_settings(tmp_path, CONFIG), {"alerts": AlertsPlugin, "vip": VipPlugin}
    )
    try:
        yield h
    finally:
        await h.close()


async def open_overlay(browser: Any, h: Harness, name: str, width: int, height: int) -> Any:
    """A page on overlay ``name``; anything it requests outside the server is blocked."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.blocked = []
    page.dialogs = []
    origin = h.url("/").rstrip("/")

    async def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith((origin, "data:", "ws://" + origin.split("://", 1)[1])):
            await route.continue_()
        else:
            page.blocked.append(url)
            await route.abort()

    async def on_dialog(dialog: Any) -> None:
        page.dialogs.append(dialog.message)
        await dialog.dismiss()

    await page.route("**/*", guard)
    page.on("dialog", on_dialog)
    await page.goto(h.url(f"/overlays/{name}?token={OVERLAY_TOKEN}&limit=100"))
    await page.wait_for_function("() => window.Limelight && window.Limelight.connected")
    return page


async def say(h: Harness, viewer: ViewerRef, text: str, n: int) -> None:
    await h.services.bus.publish(
        ChatMessage(source="test", source_id=f"line-{n}", viewer=viewer, text=text)
    )


async def test_member_emotes_render_only_for_members(browser: Any, server: Harness) -> None:
    plugin = server.plugin("vip", VipPlugin)
    stored = await server.services.media.store(png(56, 56), max_dimensions=(112, 112))
    await TierEmote.create(code="hype", tier="fan", url=stored.url)
    await plugin.engine.load_emotes()
    member, gold = ViewerRef("twitch", "m1", "Mia"), ViewerRef("twitch", "g1", "Goldie")
    stranger = ViewerRef("twitch", "s1", "Stan")
    await plugin.grant(member, "fan", duration=timedelta(days=30), source="t", source_id="m")
    await plugin.grant(gold, "gold", duration=None, source="t", source_id="g")

    # Tall enough for every line: the chat box drops the oldest lines that no longer fit.
    page = await open_overlay(browser, server, "chat", 480, 800)
    # Every line the box draws, kept even after the box drops old lines that no longer fit.
    await page.evaluate(
        """() => { window.__seen = [];
          new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(n => {
            if (n.tagName === 'LI') window.__seen.push(n); })))
          .observe(document.getElementById('chat-lines'), {childList: true}); }"""
    )
    await say(server, member, "so :hype: right now", 1)
    await say(server, stranger, "me too :hype:", 2)
    await say(server, gold, "gold can use the fan emote :hype:", 3)
    n = 4
    for payload in PAYLOADS:
        # hostile names and messages, with and next to the emote code
        await say(server, ViewerRef("twitch", f"x{n}", payload), payload + " :hype:", n)
        await say(server, member, f":hype:{payload}:hype:", n + 1000)
        n += 1
    total = 3 + 2 * len(PAYLOADS)
    try:
        await page.wait_for_function(
            f"() => window.__seen.length === {total}",
            timeout=15_000,
        )
    except Exception:
        count = await page.evaluate("window.__seen.length")
        raise AssertionError(f"{count} of {total} lines on the chat box") from None
    lines = await page.evaluate(
        """() => window.__seen.map(li => ({
            name: li.querySelector('.name').textContent,
            text: li.querySelector('.text').textContent,
            imgs: Array.from(li.querySelectorAll('.text img')).map(i => ({
                src: i.getAttribute('src'), alt: i.alt, loaded: i.complete && i.naturalWidth > 0
            })),
            badges: Array.from(li.querySelectorAll('.badge')).map(b => b.textContent),
            highlight: li.classList.contains('highlight'),
            elements: li.querySelectorAll('.text *').length,
        }))"""
    )
    first, second, third = lines[:3]
    assert first["name"] == "Mia" and first["badges"] == ["F"] and not first["highlight"]
    assert first["text"] == "so  right now"  # the code became the picture
    assert [(i["src"], i["alt"]) for i in first["imgs"]] == [(stored.url, ":hype:")]
    assert first["imgs"][0]["loaded"]
    assert second["imgs"] == [] and second["text"] == "me too :hype:"
    assert len(third["imgs"]) == 1 and third["highlight"]
    for line in lines[3:]:
        # only emote pictures, never an element made from what a viewer typed
        assert all(i["src"] == stored.url for i in line["imgs"])
        assert line["elements"] == len(line["imgs"])
    hostile = [line for line in lines[3:] if line["name"] != "Mia"]
    assert all(line["imgs"] == [] for line in hostile)
    assert await page.evaluate("() => window.__pwned === undefined")
    assert page.dialogs == [] and page.blocked == []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(OUTPUT / "chat-emotes.png"))
    await page.context.close()


async def test_members_wall_fits_and_is_empty_without_members(
    browser: Any, server: Harness
) -> None:
    plugin = server.plugin("vip", VipPlugin)
    page = await open_overlay(browser, server, "members", 400, 600)
    await page.wait_for_timeout(300)  # a chance to (wrongly) draw something
    assert await page.evaluate("() => document.body.innerText.trim()") == ""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(OUTPUT / "wall-empty.png"), omit_background=True)
    names = ["Wolfgang Amadeus Mozart the Third of Salzburg", *PAYLOADS[:8], "Ann", "Bo", "Cy"]
    for i, name in enumerate(names):
        await plugin.grant(
            ViewerRef("twitch", f"w{i}", name),
            "gold" if i % 3 == 0 else "fan",
            duration=timedelta(days=30),
            source="wall",
            source_id=str(i),
        )
    await plugin.push_wall()
    await page.wait_for_function(
        "() => document.querySelectorAll('.wall-member').length === 12", timeout=10_000
    )
    shown = await page.evaluate(
        """() => Array.from(document.querySelectorAll('.wall-member .wall-name'))
            .map(n => n.textContent)"""
    )
    assert shown[0] == "Cy"  # newest first
    boxes = await page.evaluate(
        """() => Array.from(document.querySelectorAll('.wall-title, .wall-member')).map(e => {
            const r = e.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom];
        })"""
    )
    for left, top, right, bottom in boxes:
        assert left >= 0 and top >= 0 and right <= 400 and bottom <= 600, boxes
    assert await page.evaluate("() => window.__pwned === undefined")
    assert page.dialogs == [] and page.blocked == []
    await page.screenshot(path=str(OUTPUT / "wall-12.png"))
    await page.context.close()
