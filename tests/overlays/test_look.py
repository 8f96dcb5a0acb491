"""What the overlays look like on stream, in a real Chromium at each overlay's declared size.

* Every registered overlay, filled with realistic content (five supporters per board, a
  goal with milestones, a full chat box, a big alert, long names), fits its declared size:
  no element outside the page, nothing clipped (an ellipsis that ends a long name is the
  one deliberate cut), no scroll bars. The screenshots land in ``test-output/overlays/``.
* With nothing to show, every overlay is transparent and empty: no placeholder text, no
  connection state; ``?preview=1`` (the dashboard's preview iframes) shows both.
* The default theme: a picture and a sound per alert kind, a $250 tip drawn bigger than a
  $12.50 one.
* The chat box: the bot's lines, the platform's badges (pictures, or a label), emotes as
  pictures, user colours, the badges plugins award, hidden commands, fading lines.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from limelight import Badge, ChatMessage, ViewerRef
from limelight.testing import OVERLAY_TOKEN, make_settings, start_harness
from limelight_alerts import AlertsPlugin
from limelight_tips import TipsPlugin

from ..support import chromium_path, need

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "overlays"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: No entrance animations: the page is measured as it looks once an alert has settled.
STILL = {"alert_gap": "10ms", "alert_in": "0ms", "alert_out": "0ms"}
#: A Twitch login is at most 25 characters.
LONG = "Bartholomew_TheMagnificent"[:25]
EMOTE = "/-/static-plugins/alerts/art/cheer.svg"
BADGE_IMAGE = "/-/static-plugins/alerts/art/subscription.svg"


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
    settings = make_settings(tmp_path, {"overlays": {"theme": STILL}})
    h = await start_harness(settings, {"alerts": AlertsPlugin, "tips": TipsPlugin})
    try:
        yield h
    finally:
        await h.close()


class Pages:
    """Opens overlay pages at a size and records what they did wrong."""

    def __init__(self, browser: Any, server: Any) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[Any] = []
        self.errors: list[str] = []
        self.blocked: list[str] = []

    async def open(self, name: str, width: int, height: int, query: str = "") -> Any:
        context = await self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts.append(context)
        page = await context.new_page()
        origin = self.server.url("/").rstrip("/")

        async def guard(route: Any) -> None:
            if route.request.url.startswith((origin, "data:")):
                await route.continue_()
            else:
                self.blocked.append(route.request.url)
                await route.abort()

        await page.route("**/*", guard)
        page.on("pageerror", lambda e: self.errors.append(f"{name}: {e}"))
        await page.goto(self.server.url(f"/overlays/{name}?token={OVERLAY_TOKEN}{query}"))
        await page.wait_for_function("() => window.Limelight && window.Limelight.connected")
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def pages(browser: Any, server: Any) -> AsyncIterator[Pages]:
    opened = Pages(browser, server)
    yield opened
    await opened.close()


def sizes(server: Any) -> dict[str, tuple[int, int]]:
    return {o.name: (o.width, o.height) for o in server.services.overlays.specs()}


#: Every visible element inside the page; nothing clipped (overflow hidden with more
#: content than room) except by a deliberate ellipsis; no scrolling.
FITS = """
() => {
  const W = window.innerWidth, H = window.innerHeight, bad = [];
  const root = document.documentElement;
  if (root.scrollWidth > W || root.scrollHeight > H) {
    bad.push(`page scrolls: ${root.scrollWidth}x${root.scrollHeight}`);
  }
  function shown(el) {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === "none" || cs.visibility === "hidden" || +cs.opacity === 0) return false;
    }
    return true;
  }
  for (const el of document.body.querySelectorAll("*")) {
    if (el.matches("script, .confetti, .alert-burst") || !shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const what = el.tagName.toLowerCase() + "." + String(el.className).replace(/ /g, ".");
    if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1) {
      bad.push(`${what} outside ${W}x${H}: ${Math.round(r.left)},${Math.round(r.top)} ` +
               `${Math.round(r.right)},${Math.round(r.bottom)}`);
    }
    const cs = getComputedStyle(el);
    const clips = cs.overflowX !== "visible" || cs.overflowY !== "visible";
    if (clips && cs.textOverflow !== "ellipsis" &&
        (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) {
      bad.push(`${what} clipped: ${el.scrollWidth}x${el.scrollHeight} in ` +
               `${el.clientWidth}x${el.clientHeight}`);
    }
  }
  return bad;
}
"""

#: What a viewer would see of an idle page: its text and its visible pictures.
SEEN = """
() => {
  const pictures = [...document.querySelectorAll("img, video, svg")].filter(
    (el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden");
  let opaque = 0;
  for (const el of document.body.querySelectorAll("*")) {
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (r.width && r.height && cs.display !== "none" && +cs.opacity > 0 &&
        cs.backgroundColor !== "rgba(0, 0, 0, 0)") {
      let hidden = false;
      for (let e = el; e; e = e.parentElement) {
        if (+getComputedStyle(e).opacity === 0) hidden = true;
      }
      if (!hidden) opaque++;
    }
  }
  return {
    text: document.body.innerText.trim(),
    pictures: pictures.length,
    opaque,
    background: getComputedStyle(document.body).backgroundColor,
  };
}
"""


async def fill(server: Any) -> None:
    """Realistic content for every overlay of the alerts plugin."""
    overlays = server.services.overlays
    names = [LONG, "Alice", "Bob_the_Builder", "Carol", "Dave"]
    await overlays.set_state(
        "leaderboard",
        "stream",
        {
            "title": "Top supporters this stream",
            "entries": [
                {"name": n, "value": f"${v:,.2f}"}
                for n, v in zip(names, (250, 50, 20, 12.5, 5), strict=True)
            ],
        },
    )
    await overlays.set_state(
        "leaderboard",
        "all_time",
        {
            "title": "All time",
            "order": 1,
            "entries": [
                {"name": n, "value": f"${v:,.2f}"}
                for n, v in zip(reversed(names), (12_500, 9_000, 1_250, 800, 75.5), strict=True)
            ],
        },
    )
    await overlays.set_state(
        "goal",
        "charity",
        {
            "title": "Charity drive for the Owl Sanctuary of the Northern Highlands",
            "current": 62_500,
            "target": 100_000,
            "label": "$625.00 of $1,000.00",
            "milestones": [
                {"at": 10_000, "label": "Owl song"},
                {"at": 25_000, "label": "Face paint"},
                {"at": 50_000, "label": "Ice bath challenge"},
                {"at": 75_000, "label": "24 h stream"},
                {"at": 100_000, "label": "Shaved head"},
            ],
        },
    )
    await overlays.set_state(
        "ticker",
        "drop",
        {
            "title": "Limited hoodie drop",
            "text": "Use !merch in chat to order yours before they are gone",
            "ends_at": "2099-01-01T00:00:00+00:00",
            "stock": 37,
            "total": 100,
        },
    )
    server.services.badges.registry.add("test", Badge("vip", "VIP", "\U0001f48e"))
    for i in range(30):
        who = ViewerRef("twitch", f"v{i}", LONG if i % 3 == 0 else f"viewer{i}")
        server.services.badges.award(who, "vip")
        text = "that was close Kappa " * (1 + i % 4)
        await server.services.bus.publish(
            ChatMessage(
                source="look",
                source_id=f"look-{i}",
                viewer=who,
                text=text,
                color="#4fc3f7",
                badges=("moderator/1", "subscriber/12"),
                badge_images=("", BADGE_IMAGE),
                emotes=(f"15-19:{EMOTE}",),
            )
        )
    await server.settle()
    await overlays.alert(
        "alerts",
        kind="tip",
        duration_ms=120_000,
        data={
            "name": LONG,
            "amount": "250.00",
            "currency": "USD",
            "message": "Keep up the great work, this stream made my week! " * 3,
        },
    )
    await overlays.alert(
        "goal", kind="milestone", duration_ms=120_000, data={"title": "Halfway there!"}
    )


# -- tests ------------------------------------------------------------------------------------


async def test_every_overlay_fits_its_size_with_realistic_content(
    pages: Pages, server: Any
) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    opened = {name: await pages.open(name, w, h) for name, (w, h) in sizes(server).items()}
    assert {"alerts", "chat", "leaderboard", "goal", "ticker", "tips-tts"} <= set(opened)
    await fill(server)
    await opened["chat"].wait_for_function(
        "() => document.querySelectorAll('#chat-lines li').length > 0"
    )
    await opened["leaderboard"].wait_for_function(
        "() => document.querySelectorAll('.board li').length === 10"
    )
    await opened["alerts"].locator("#alert-stage.show").wait_for(state="visible")
    await opened["goal"].locator("#alert-stage.show").wait_for(state="visible")
    await opened["goal"].screenshot(path=str(OUTPUT / "goal-milestone.png"))
    await server.services.overlays.skip("goal")
    await opened["goal"].wait_for_function("() => !document.querySelector('#alert-stage.show')")
    problems = {}
    for name, page in opened.items():
        await page.screenshot(path=str(OUTPUT / f"{name}.png"), omit_background=True)
        found = await page.evaluate(FITS)
        if found:
            problems[name] = found
    assert problems == {}
    # The chat box keeps as many whole lines as fit, oldest first out.
    lines = await opened["chat"].evaluate("document.querySelectorAll('#chat-lines li').length")
    assert 5 <= lines <= 20
    assert pages.errors == [] and pages.blocked == []


async def test_idle_overlays_are_transparent_and_empty(pages: Pages, server: Any) -> None:
    for name, (width, height) in sizes(server).items():
        page = await pages.open(name, width, height)
        seen = await page.evaluate(SEEN)
        assert seen == {
            "text": "",
            "pictures": 0,
            "opaque": 0,
            "background": "rgba(0, 0, 0, 0)",
        }, name
        await page.screenshot(path=str(OUTPUT / f"{name}-idle.png"), omit_background=True)
    assert pages.errors == []


async def test_preview_shows_placeholders_and_the_connection(pages: Pages, server: Any) -> None:
    page = await pages.open("goal", 1000, 160, "&preview=1")
    assert await page.locator("#goal-empty").text_content() == "No goal yet."
    assert await page.locator("#goal-empty").is_visible()
    connection = page.locator("#connection")
    await page.wait_for_function(
        "() => document.getElementById('connection').dataset.state === 'online'"
    )
    assert await connection.is_visible()
    # A preview never acks: the alert stays queued for the browser source in OBS.
    alert_id = await server.services.overlays.alert(
        "alerts", kind="raid", data={"name": "Previewed", "viewers": 5}, duration_ms=500
    )
    preview = await pages.open("alerts", 1920, 1080, "&preview=1")
    await preview.wait_for_function(f"() => window.Limelight.shown.includes({alert_id})")
    assert await server.services.overlays.pending("alerts") == 1
    # On stream, neither shows.
    stream = await pages.open("goal", 1000, 160)
    assert await stream.locator("#connection").count() == 0
    assert not await stream.locator("#goal-empty").is_visible()


async def test_bigger_amounts_get_bigger_alerts_with_art_and_sound(
    pages: Pages, server: Any
) -> None:
    page = await pages.open("alerts", 1920, 1080)
    overlays = server.services.overlays
    found = {}
    for amount in ("12.50", "250.00"):
        await overlays.alert(
            "alerts",
            kind="tip",
            duration_ms=60_000,
            data={"name": "Alice", "amount": amount, "currency": "USD"},
        )
        stage = page.locator("#alert-stage.show[data-kind='tip']")
        await stage.wait_for(state="visible")
        found[amount] = {
            "size": await stage.get_attribute("data-size"),
            "title": await stage.locator(".alert-title").text_content(),
            "image": await stage.locator(".alert-image").get_attribute("src"),
            "art": (await stage.locator(".alert-image").bounding_box())["height"],
            "font": await stage.locator(".alert-title").evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)"
            ),
        }
        await page.screenshot(path=str(OUTPUT / f"alerts-tip-{amount}.png"), omit_background=True)
        await overlays.skip("alerts")
        await page.wait_for_function("() => !document.querySelector('#alert-stage.show')")
    assert found["12.50"]["size"] == "2" and found["250.00"]["size"] == "4"
    assert found["250.00"]["title"] == "Alice tipped $250.00!"
    assert found["250.00"]["art"] >= found["12.50"]["art"] * 1.8
    assert found["250.00"]["font"] >= found["12.50"]["font"] * 1.5
    assert found["250.00"]["image"] == "/-/static-plugins/alerts/art/tip.svg"
    # The default picture and sound of every kind are served.
    for kind in ("tip", "cheer", "subscription", "gift_bomb", "raid", "donation"):
        for path, kind_type in (
            (f"art/{kind}.svg", "image/svg+xml"),
            (f"sounds/{kind}.wav", "audio/"),
        ):
            response = await server.client.get(f"/-/static-plugins/alerts/{path}")
            assert response.status == 200, path
            assert response.headers["Content-Type"].startswith(kind_type), path
    assert pages.errors == []


async def test_chat_box_shows_bot_badges_emotes_colours(pages: Pages, server: Any) -> None:
    page = await pages.open("chat", 480, 800, "&hide_commands=1")
    bus = server.services.bus
    mod = ViewerRef("twitch", "m1", "ModMolly")
    await bus.publish(
        ChatMessage(source="look", source_id="c1", viewer=mod, text="!top", badges=("moderator/1",))
    )
    await bus.publish(
        ChatMessage(
            source="look",
            source_id="c2",
            viewer=mod,
            text="Kappa hello <b>there</b>",
            color="#ff4500",
            badges=("moderator/1", "subscriber/12"),
            badge_images=("", BADGE_IMAGE),
            emotes=(f"0-4:{EMOTE}",),
        )
    )
    await server.settle()
    await server.services.chat.say("Top supporters: Alice, Bob")
    await page.wait_for_function("() => document.querySelectorAll('#chat-lines li').length === 2")
    lines = page.locator("#chat-lines li")
    viewer_line = lines.nth(0)
    assert await viewer_line.locator(".name").text_content() == "ModMolly"
    assert await viewer_line.locator(".name").evaluate("e => e.style.color") == "rgb(255, 69, 0)"
    assert await viewer_line.locator(".badge-label.badge-moderator").text_content() == "Mod"
    assert await viewer_line.locator("img.platform-badge").get_attribute("src") == BADGE_IMAGE
    emote = viewer_line.locator(".text img.emote")
    assert await emote.get_attribute("src") == EMOTE
    assert await emote.get_attribute("alt") == "Kappa"
    assert await viewer_line.locator(".text").text_content() == " hello <b>there</b>"
    assert await viewer_line.locator(".text b").count() == 0
    bot_line = lines.nth(1)
    assert "is-bot" in (await bot_line.get_attribute("class") or "")
    assert await bot_line.locator(".text").text_content() == "Top supporters: Alice, Bob"
    await page.screenshot(path=str(OUTPUT / "chat-features.png"), omit_background=True)

    # Lines fade out after ?fade seconds; the bot's lines can be left out with ?bot=0.
    fading = await pages.open("chat", 480, 800, "&fade=1&bot=0")
    await bus.publish(ChatMessage(source="look", source_id="c3", viewer=mod, text="bye"))
    await server.services.chat.say("not on this page")
    await fading.wait_for_function("() => document.querySelectorAll('#chat-lines li').length === 1")
    await fading.wait_for_function(
        "() => document.querySelectorAll('#chat-lines li').length === 0", timeout=5_000
    )
    assert pages.errors == [] and pages.blocked == []


async def test_test_alerts_replay_only_within_the_test_window(pages: Pages, server: Any) -> None:
    """A test alert sent while no page was open plays when one opens only if it is younger
    than ``[overlays] test_replay_max_age``; real alerts keep their replay."""
    overlays = server.services.overlays
    old = await overlays.test_alert("alerts", "raid")
    for test in overlays.outbox._tests["alerts"]:
        if test.id == old:  # sent a minute ago, as far as the replay can tell
            test.created_at -= timedelta(seconds=60)
    fresh = await overlays.test_alert("alerts", "cheer")
    real = await overlays.alert("alerts", kind="raid", data={"name": "Real", "viewers": 3})
    page = await pages.open("alerts", 1920, 1080)
    await page.wait_for_function(f"() => window.Limelight.shown.includes({fresh})")
    assert await page.evaluate("window.Limelight.shown.slice()") == [fresh]
    assert await page.evaluate("window.Limelight.queueLength()") == 1  # the real one
    await overlays.skip("alerts")
    await page.wait_for_function(f"() => window.Limelight.shown.includes({real})")
    assert old not in await page.evaluate("window.Limelight.shown.slice()")
