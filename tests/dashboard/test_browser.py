"""The dashboard in headless Chromium: the Overlays page (full URL, copy button, live
previews, controls only where they apply), the alert editor (uploads, a new tier, the live
preview, applied to an OPEN overlay page without a reload), the activity feed's words,
the refund dialog, layouts at 420 px (an OBS dock) and 360 px (a phone), and the XSS corpus
in the editor's preview and the feed. Screenshots go to ``test-output/dashboard/``."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from limelight.testing import ADMIN_TOKEN, OVERLAY_TOKEN, make_settings, start_harness
from limelight_alerts import AlertsPlugin
from limelight_tips import TipsPlugin

from ..overlays.test_browser import PAYLOADS
from ..support import chromium_path, need
from .feed_cases import CASES
from .media import png, wav

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FAST_THEME = {"alert_gap": "10ms", "alert_in": "0ms", "alert_out": "0ms"}
PAGES = ("/admin/", "/admin/overlays", "/admin/alerts", "/admin/overlays/alerts")


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
    settings = make_settings(tmp_path, {"overlays": {"theme": FAST_THEME}})
    h = await start_harness(settings, {"alerts": AlertsPlugin, "tips": TipsPlugin})
    try:
        yield h
    finally:
        await h.close()


@dataclass
class Tab:
    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="module")
async def dashboard(browser: Any, server: Any) -> AsyncIterator[Any]:
    contexts: list[Any] = []
    origin = server.url("/").rstrip("/")
    netloc = urlsplit(origin).netloc

    async def open_tab(
        path: str = "", *, width: int = 1280, height: int = 900, login: bool = True
    ) -> Tab:
        context = await browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
        page = await context.new_page()
        tab = Tab(page)

        async def guard(route: Any) -> None:
            url = route.request.url
            parts = urlsplit(url)
            if url.startswith(("data:", "about:", "blob:")) or parts.netloc == netloc:
                await route.continue_()
            else:
                tab.blocked.append(url)
                await route.abort()

        await page.route("**/*", guard)
        page.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: tab.errors.append(str(e)))
        if login:
            await page.goto(origin + "/admin/login")
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.wait_for_url(origin + "/admin/")
        if path:
            await page.goto(origin + path)
        return tab

    yield open_tab
    for context in contexts:
        await context.close()


def configured_url(server: Any, name: str) -> str:
    """The URL the dashboard shows for OBS (from [server] host/port or public_url)."""
    from limelight.overlays.routes import overlay_url as shown

    return shown(server.settings, name)


def overlay_url(server: Any, name: str) -> str:
    return server.url(f"/overlays/{name}?token={OVERLAY_TOKEN}")


async def shoot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


# -- the Overlays page --------------------------------------------------------------------------


async def test_overlays_page_copies_the_full_url_and_previews_each_overlay(
    dashboard: Any, server: Any
) -> None:
    tab = await dashboard("/admin/overlays")
    page = tab.page
    url = configured_url(server, "alerts")
    shown = page.locator("#url-alerts")
    assert (await shown.text_content() or "").strip() == url  # the whole URL, visible
    box = await shown.bounding_box()
    assert box is not None and box["width"] > 100
    await page.click('button[data-copy="url-alerts"]')
    await page.wait_for_function(
        "() => document.querySelector('[data-overlay=alerts] .copy-status').textContent"
    )
    assert await page.evaluate("navigator.clipboard.readText()") == url
    assert "Copied" in await page.inner_text("[data-overlay=alerts] .copy-status")
    # every overlay has a live preview: its own page in preview mode, scaled into the card
    frames = page.locator(".overlay-card .frame iframe")
    count = await frames.count()
    assert count == len(server.host.overlays) >= 5
    for i in range(count):
        frame_el = frames.nth(i)
        src = await frame_el.get_attribute("src")
        assert src and "preview=1" in src and f"token={OVERLAY_TOKEN}" in src
        card = await frame_el.evaluate(
            "f => f.closest('.overlay-card').getBoundingClientRect().width"
        )
        seen = await frame_el.evaluate("f => f.getBoundingClientRect().width")
        assert 0 < seen <= card
    alerts_frame = page.frame_locator("[data-overlay=alerts] .frame iframe")
    await alerts_frame.locator("body[data-overlay=alerts]").wait_for(state="attached")
    preview = page.frames[1]
    await preview.wait_for_function("() => window.Limelight && window.Limelight.connected")
    # queue controls only where alerts play
    assert await page.locator("[data-overlay=alerts] [data-action=pause]").count() == 1
    assert await page.locator("[data-overlay=chat] [data-action=pause]").count() == 0
    # a test alert says what it sent, in words, without an internal (negative) id
    await page.select_option("[data-overlay=alerts] select[data-field=kind]", "raid")
    await page.click("[data-overlay=alerts] [data-action=test]")
    await page.wait_for_function("() => document.getElementById('overlay-feedback').textContent")
    said = await page.inner_text("#overlay-feedback")
    assert said == "Raid test alert sent to alerts." and "-" not in said
    await shoot(page, "overlays-1280")
    assert tab.errors == [] and tab.blocked == [] and tab.dialogs == []


async def test_pages_fit_an_obs_dock_and_a_phone(dashboard: Any, server: Any) -> None:
    await server.post_event(
        {
            "type": "raid",
            "source_id": "fit-1",
            "viewer": CASES[0][0]["viewer"],
            "data": {"viewers": 3},
        }
    )
    for width in (420, 360):
        tab = await dashboard("", width=width, height=800)
        for path in PAGES:
            await tab.page.goto(server.url(path))
            await tab.page.wait_for_load_state("networkidle")
            scroll = await tab.page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{path} is {scroll} px wide at {width} px"
            if width == 420:
                slug = path.strip("/").replace("/", "-") or "home"
                await shoot(tab.page, f"{slug}-420")
        assert tab.errors == []


# -- the alert editor ---------------------------------------------------------------------------


async def test_editor_uploads_changes_a_tier_and_an_open_overlay_plays_it(
    dashboard: Any, server: Any, tmp_path: Path
) -> None:
    # OBS: the alerts overlay is open before anything is edited, and is never reloaded
    obs = await dashboard("", width=1920, height=1080, login=False)
    fetched: list[str] = []
    obs.page.on("request", lambda r: fetched.append(urlsplit(r.url).path))
    await obs.page.goto(overlay_url(server, "alerts"))
    await obs.page.wait_for_function("() => window.Limelight && window.Limelight.connected")
    await obs.page.evaluate("window.__sameDocument = true")

    tab = await dashboard("/admin/alerts")
    page = tab.page
    await page.wait_for_selector("#kinds button[data-kind=tip]")
    await page.click("#kinds button[data-kind=tip]")
    picture, sound = tmp_path / "star.png", tmp_path / "ding.wav"
    picture.write_bytes(png(96, 96))
    sound.write_bytes(wav())
    await page.set_input_files("input[name=image-file]", str(picture))
    await page.wait_for_function(
        "() => /^PNG file/.test(document.querySelector('[data-field=image-name]').textContent)"
    )
    await page.set_input_files("input[name=sound-file]", str(sound))
    await page.wait_for_function(
        "() => /^WAV file/.test(document.querySelector('[data-field=sound-name]').textContent)"
    )
    # a new tier for tips from $20: its own text, animation and duration
    await page.click("[data-action=add-tier]")
    await page.fill("input[name=min_amount]", "20.00")
    await page.fill("input[name=currency]", "USD")
    await page.fill("input[name=text]", "BIG TIP {amount} from {name}!")
    await page.select_option("select[name=animation]", "zoom")
    await page.fill("input[name=duration]", "8")
    # the live preview is the overlay's own page, rendering the unsaved draft
    frame = page.frames[1]
    await frame.wait_for_function("() => window.Limelight && window.Limelight.connected")
    await frame.wait_for_function(
        "() => document.querySelector('#alert-stage .alert-title').textContent"
        " === 'BIG TIP $20.00 from Test Viewer!'"
    )
    assert await frame.get_attribute("#alert-stage", "data-animation") == "zoom"
    await shoot(page, "alert-editor-1280")
    await page.click("button[data-action=save]")
    await page.wait_for_function(
        "() => document.getElementById('editor-feedback').textContent.startsWith('Saved')"
    )
    assert await page.inner_text("#kinds button[data-kind=tip] .tag") == "saved"
    # the open page was told over its WebSocket and fetched the new files ahead
    image_url = server.services.overlays.variation("tip", None, overlay="alerts").image
    sound_url = server.services.overlays.variation("tip", None, overlay="alerts").sound
    await obs.page.wait_for_function(
        "(urls) => urls.every(u => performance.getEntriesByName(location.origin + u).length)",
        arg=[image_url, sound_url],
    )
    assert image_url in fetched and sound_url in fetched

    # the open overlay plays the next tip with the saved design: no restart, no reload
    uploaded = await page.evaluate("document.querySelector('[data-field=image-name]').textContent")
    assert uploaded.startswith("PNG file")
    await server.services.overlays.test_alert(
        "alerts", "tip", {"name": "Rich", "amount": "25.00", "currency": "USD"}
    )
    stage = obs.page.locator("#alert-stage.show")
    await stage.wait_for(state="visible", timeout=5000)
    assert await stage.locator(".alert-title").text_content() == "BIG TIP $25.00 from Rich!"
    src = await stage.locator(".alert-image").get_attribute("src")
    assert src and src.startswith("/-/uploads/") and src.endswith(".png")
    assert await obs.page.evaluate("window.__sameDocument") is True
    assert await stage.get_attribute("data-animation") == "zoom"
    await obs.page.wait_for_function(
        "() => { const i = document.querySelector('#alert-stage .alert-image');"
        " return i.complete && i.naturalWidth === 96; }"
    )
    await shoot(obs.page, "alerts-overlay-edited")
    # the small tier kept the uploads and the default text
    small = server.services.overlays.variation("tip", None, overlay="alerts")
    assert small.image.endswith(".png") and small.sound.endswith(".wav")
    assert tab.errors == [] and obs.errors == [] and tab.blocked == []


async def test_a_gift_for_chat_is_designed_and_tested_from_the_editor(
    dashboard: Any, server: Any
) -> None:
    """Merch bought as gifts for chat has its own entry in the editor ("Gift for chat"):
    its preview is the gift, with the gift box, and *Send test alert* plays it on the open
    overlay, as a Fourthwall gift purchase would."""
    obs = await dashboard("", width=1920, height=1080, login=False)
    await obs.page.goto(overlay_url(server, "alerts"))
    await obs.page.wait_for_function("() => window.Limelight && window.Limelight.connected")
    tab = await dashboard("/admin/alerts")
    page = tab.page
    gift = page.locator("#kinds button[data-kind='merch.gift']")
    await gift.wait_for()
    assert (await gift.inner_text()).startswith("Gift for chat")
    await gift.click()
    said = "Test Viewer gifted 5\u00d7 Test T-shirt to chat!"
    frame = page.frames[1]
    await frame.wait_for_function("() => window.Limelight && window.Limelight.connected")
    await frame.wait_for_function(
        "(said) => document.querySelector('#alert-stage .alert-title').textContent === said",
        arg=said,
    )
    # the preview plays the kind's default picture, and the editor says it is the default
    art = "/-/static-plugins/alerts/art/gift_bomb.svg"
    await frame.wait_for_function(
        "(art) => document.querySelector('#alert-stage .alert-image').getAttribute('src') === art",
        arg=art,
    )
    assert await page.inner_text("[data-field=image-name]") == "theme default"
    assert await page.inner_text("[data-field=sound-name]") == "theme default"
    await shoot(page, "alert-editor-gift-1280")
    await page.click("button[data-action=test]")
    stage = obs.page.locator("#alert-stage.show")
    await stage.wait_for(state="visible", timeout=5000)
    assert await stage.locator(".alert-title").text_content() == said
    assert await stage.locator(".alert-image").get_attribute("src") == art
    await shoot(obs.page, "alerts-overlay-gift")
    await obs.page.wait_for_function("() => !document.querySelector('#alert-stage.show')")

    # "Remove" turns the default picture off (saved as "none"); "Use default" brings it back
    await page.click("button[data-action=clear-image]")
    assert await page.inner_text("[data-field=image-name]") == "none"
    assert await page.inner_text("button[data-action=clear-image]") == "Use default"
    await frame.wait_for_function(
        "() => !document.querySelector('#alert-stage .alert-image').getAttribute('src')"
    )
    await page.click("button[data-action=save]")
    await page.wait_for_function(
        "() => document.getElementById('editor-feedback').textContent.startsWith('Saved')"
    )
    await server.services.overlays.test_alert("alerts", "merch.gift")
    await stage.wait_for(state="visible", timeout=5000)
    assert await stage.locator(".alert-title").text_content() == said
    assert await stage.locator(".alert-image").get_attribute("src") is None
    assert server.services.overlays.variation("merch.gift", overlay="alerts").image == ""
    await page.click("button[data-action=clear-image]")
    assert await page.inner_text("[data-field=image-name]") == "theme default"
    assert await page.inner_text("button[data-action=clear-image]") == "Remove"
    await frame.wait_for_function(
        "(art) => document.querySelector('#alert-stage .alert-image').getAttribute('src') === art",
        arg=art,
    )
    assert tab.errors == [] and obs.errors == [] and tab.blocked == []


async def test_editor_refuses_wrong_uploads_in_words(dashboard: Any, tmp_path: Path) -> None:
    tab = await dashboard("/admin/alerts")
    page = tab.page
    await page.wait_for_selector("#kinds button[data-kind=raid]")
    fake = tmp_path / "fake.png"
    fake.write_text("<script>alert(1)</script>")
    await page.set_input_files("input[name=image-file]", str(fake))
    await page.wait_for_function(
        "() => document.getElementById('editor-feedback').classList.contains('error')"
    )
    assert "not a supported" in await page.inner_text("#editor-feedback")
    picture = tmp_path / "picture.png"
    picture.write_bytes(png())
    await page.set_input_files("input[name=sound-file]", str(picture))
    await page.wait_for_function(
        "() => /expected audio/.test(document.getElementById('editor-feedback').textContent)"
    )
    huge = tmp_path / "huge.png"
    huge.write_bytes(png(32, 32) + b"\x00" * (6 * 1024 * 1024))
    await page.set_input_files("input[name=image-file]", str(huge))
    await page.wait_for_function(
        "() => /MB/.test(document.getElementById('editor-feedback').textContent)"
    )
    # the refused files changed nothing: the tier still plays the kind's default picture
    assert await page.inner_text("[data-field=image-name]") == "theme default"
    # a good preview afterwards does not take the upload's complaint back (it once cleared
    # any message marked as an error, so a late preview blanked this one)
    await page.fill("input[name=text]", "Thanks {name}!")
    frame = page.frames[1]
    await frame.wait_for_function(
        "() => document.querySelector('#alert-stage .alert-title').textContent"
        " === 'Thanks Test Viewer!'"
    )
    assert "5.0 MB" in await page.inner_text("#editor-feedback")
    assert tab.errors == [] and tab.dialogs == []


# -- the activity feed --------------------------------------------------------------------------


async def test_feed_describes_every_core_event_in_words(dashboard: Any, server: Any) -> None:
    for n, (event, *_rest) in enumerate(CASES):
        status, _ = await server.post_event({**event, "source_id": f"words-{n}"})
        assert status == 201
    tab = await dashboard("")
    page = tab.page
    await page.wait_for_selector("#events[data-loaded=true] li.event")
    feed = await page.inner_text("#events")
    for _event, label, text, detail in CASES:
        assert label in feed and text in feed, text
        if detail:
            assert detail in feed
    assert "membership.changed" not in feed and "{" not in feed and "-1" not in feed
    times = await page.locator("#events li.event time").count()
    assert times == await page.locator("#events li.event").count()
    icons = await page.evaluate(
        "[...document.querySelectorAll('#events li.event svg use')]"
        ".map(u => u.getAttribute('href'))"
    )
    assert all(i.startswith("/-/static/icons.svg#") for i in icons)
    await shoot(page, "home-1280")
    # filter by type, then replay the raid's alert
    await page.select_option("#event-filter", "raid")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#events li.event')]"
        ".every(li => li.dataset.type === 'raid')"
    )
    before = await server.services.overlays.pending("alerts")
    await page.click("#events li.event button.replay")
    await page.wait_for_function(
        "() => document.getElementById('events-feedback').textContent === 'The alert plays again.'"
    )
    assert await server.services.overlays.pending("alerts") == before + 1
    assert tab.errors == [] and tab.blocked == []


async def test_xss_corpus_runs_nothing_in_the_feed_or_the_editor_preview(
    dashboard: Any, server: Any
) -> None:
    for n, payload in enumerate(PAYLOADS):
        viewer = {"platform": "twitch", "id": f"x{n}", "name": payload[:200]}
        await server.post_event(
            {
                "type": "chat.message",
                "source_id": f"xss-{n}",
                "viewer": viewer,
                "data": {"text": payload},
            },
            settle=False,
        )
    await server.settle()
    tab = await dashboard("")
    page = tab.page
    await page.wait_for_selector("#events[data-loaded=true] li.event")
    editor = await dashboard("/admin/alerts")
    await editor.page.wait_for_selector("#kinds button[data-kind=cheer]")
    frame = editor.page.frames[1]
    await frame.wait_for_function("() => window.Limelight && window.Limelight.preview")
    for payload in PAYLOADS[:20]:
        await editor.page.fill("input[name=text]", payload[:500])
        await frame.wait_for_function(
            "(t) => document.querySelector('#alert-stage .alert-title').textContent === t",
            arg=payload[:500],
        )
    for t in (tab, editor):
        assert await t.page.evaluate("window.__pwned") is None
        assert t.dialogs == [] and t.blocked == [], (t.dialogs, t.blocked)
    assert await frame.evaluate("window.__pwned") is None
    assert (
        await frame.evaluate(
            "document.querySelectorAll("
            "'#alert-stage img:not(.alert-image), script:not([src])').length"
        )
        == 0
    )


# -- the refund dialog --------------------------------------------------------------------------


async def test_refund_asks_in_an_in_page_dialog(dashboard: Any, server: Any) -> None:
    status, _ = await server.post_event(
        {
            "type": "tip",
            "source": "api",
            "source_id": "refund-me",
            "viewer": {"platform": "twitch", "id": "9", "name": "Tess"},
            "data": {"amount": "8.00", "currency": "USD"},
        }
    )
    assert status == 201
    tab = await dashboard("/p/tips/")
    page = tab.page
    await page.click("#tips-rows button:has-text('Refund')")
    dialog = page.locator("dialog.ll-dialog")
    await dialog.wait_for(state="visible")
    assert "Tess tipped $8.00" in await dialog.inner_text()
    await shoot(page, "refund-dialog")
    await dialog.locator("input[name=amount]").fill("3.x")
    await dialog.locator("button[type=submit]").click()
    assert "Write an amount" in await dialog.inner_text()  # stays open, says why
    await dialog.locator("input[name=amount]").fill("3.00")
    await dialog.locator("button[type=submit]").click()
    await dialog.wait_for(state="detached")
    await page.wait_for_function(
        "() => /refunded/.test(document.getElementById('tips-rows').textContent)"
    )
    assert tab.dialogs == []  # no window.prompt()
    assert tab.errors == []


async def test_every_plugins_page_fits_an_obs_dock(browser: Any, tmp_path: Path) -> None:
    """Every page in the navigation, the built-in plugins' included (tips, VIP, room,
    shop, charity, challenges), fits 420 px (an OBS custom dock) without sideways scroll."""
    from limelight.web.dashboard import navigation
    from limelight_challenges import ChallengesPlugin
    from limelight_charity import CharityPlugin
    from limelight_room import RoomPlugin
    from limelight_shop import ShopPlugin
    from limelight_vip import VipPlugin

    settings = make_settings(tmp_path, {"overlays": {"theme": FAST_THEME}})
    plugins = {
        "alerts": AlertsPlugin,
        "tips": TipsPlugin,
        "vip": VipPlugin,
        "room": RoomPlugin,
        "shop": ShopPlugin,
        "charity": CharityPlugin,
        "challenges": ChallengesPlugin,
    }
    h = await start_harness(settings, plugins)
    try:
        assert all(h.host.info[name].enabled for name in plugins), h.host.info
        context = await browser.new_context(viewport={"width": 420, "height": 800})
        try:
            page = await context.new_page()
            await page.goto(h.url("/admin/login"))
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.wait_for_url(h.url("/admin/"))
            wide, shown = {}, {}
            for path, _label in navigation(h.app):
                await page.goto(h.url(path))
                await page.wait_for_load_state("networkidle")
                # what a page hides (an empty table beside "Nothing to refund.") stays
                # hidden at this width too, whatever the narrow layout's CSS does
                visible = await page.evaluate(
                    """() => [...document.querySelectorAll('[hidden]')]
                      .filter(e => getComputedStyle(e).display !== 'none')
                      .map(e => e.tagName + '#' + e.id)"""
                )
                if visible:
                    shown[path] = visible
                scroll = await page.evaluate("document.documentElement.scrollWidth")
                if scroll > 420:
                    culprits = await page.evaluate(
                        """() => [...document.querySelectorAll('body *')]
                          .filter(e => e.getBoundingClientRect().right > 421)
                          .filter(e => !e.parentElement ||
                                  e.parentElement.getBoundingClientRect().right <= 421)
                          .slice(0, 4)
                          .map(e => e.tagName + '.' + e.className + '#' + e.id + ':' +
                               Math.round(e.getBoundingClientRect().right))"""
                    )
                    wide[path] = (scroll, culprits)
                await shoot(page, "dock-" + (path.strip("/").replace("/", "-") or "home"))
            assert wide == {}, f"pages wider than 420 px: {wide}"
            assert shown == {}, f"hidden elements shown at 420 px: {shown}"
        finally:
            await context.close()
    finally:
        await h.close()
