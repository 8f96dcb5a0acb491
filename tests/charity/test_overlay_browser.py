"""The campaign overlay and the donor wall in headless Chromium: the bar and its milestone
marks move as donations and a refund land, everything fits the declared size, an idle page
is empty, and the XSS corpus in donor names and messages runs nothing and loads nothing.
Screenshots go to test-output/charity/."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from limelight import Donation, Money, ViewerRef
from limelight.testing import OVERLAY_TOKEN
from limelight_charity.models import Campaign, CharityEntry
from limelight_charity.reactions import left_text

from tests.overlays.test_browser import PAYLOADS
from tests.support import chromium_path, need

from .conftest import campaign

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "charity"
LADDER = [
    {"at": 25000, "label": "Hair dye", "actions": []},
    {"at": 50000, "label": "Spicy food", "actions": []},
    {"at": 75000, "label": "24 h stream", "actions": []},
]
FAST = {"overlays": {"theme": {"alert_gap": "10ms", "alert_in": "0ms", "alert_out": "0ms"}}}


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        await browser.close()


class Page:
    def __init__(self, page: Any, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.blocked: list[str] = []


async def open_overlay(browser: Any, c: Any, name: str, width: int, height: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    origin = c.h.url("/").rstrip("/")
    watched = Page(page, origin)

    async def guard(route: Any) -> None:
        url = route.request.url
        parts, mine = urlsplit(url), urlsplit(origin)
        if parts.scheme in ("data", "blob") or (parts.hostname, parts.port) == (
            mine.hostname,
            mine.port,
        ):
            await route.continue_()
        else:
            watched.blocked.append(url)
            await route.abort()

    async def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        await dialog.dismiss()

    await page.route("**/*", guard)
    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("console", lambda m: watched.console.append(f"{m.type}: {m.text}"))
    await page.goto(c.h.url(f"/overlays/{name}?token={OVERLAY_TOKEN}"))
    await page.wait_for_function(
        "() => window.Limelight && window.Limelight.connected", timeout=10_000
    )
    return watched


async def donate(c: Any, amount: str, name: str = "alice", message: str = "", **kw: Any) -> None:
    await c.h.publish(
        Donation(
            source="twitch",
            source_id=f"charity:{uuid.uuid4()}",
            viewer=ViewerRef("twitch", name[:50] + str(uuid.uuid4())[:6], name),
            amount=Money.parse(amount, "EUR"),
            message=message,
            **kw,
        )
    )


async def marks(w: Page) -> list[tuple[str, str]]:
    return await w.page.eval_on_selector_all(
        ".charity-mark",
        "els => els.map(e => [e.className.replace('charity-mark ', ''), e.style.left])",
    )


async def fill_width(w: Page) -> float:
    return await w.page.evaluate("parseFloat(document.querySelector('.charity-fill').style.width)")


async def fits(w: Page, selector: str, width: int, height: int) -> None:
    box = await w.page.evaluate(
        f"(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })()"
    )
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height, box


async def test_campaign_overlay_moves_and_fits(chromium: Any, charity) -> None:
    c = await charity(FAST, campaigns=[campaign(milestones=LADDER)])
    w = await open_overlay(chromium, c, "charity", 1000, 240)
    await w.page.wait_for_selector("#charity:not([hidden])")
    assert await fill_width(w) == 0
    assert [m[0] for m in await marks(w)] == ["ahead", "ahead", "ahead"]
    assert [m[1] for m in await marks(w)] == ["25%", "50%", "75%"]
    # the page counts down in the words the server uses (limelight.text.duration)
    running = await Campaign.get(slug="pandas-2026")
    for _ in range(2):  # once more if a minute turned over between the two readings
        shown = await w.page.inner_text(".charity-left")
        if shown == left_text(running):
            break
    assert shown == left_text(running)

    await donate(c, "300.00", "alice", "For the pandas, with love from all of us!")
    # a big donation's alert (its biggest size) covers the card, inside the frame
    await w.page.wait_for_selector("#alert-stage.show[data-size='4']")
    await fits(w, "#alert-stage.show .alert-card", 1000, 240)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await w.page.screenshot(path=str(OUTPUT / "campaign-big-donation.png"))
    await w.page.wait_for_function(
        "() => parseFloat(document.querySelector('.charity-fill').style.width) === 30"
    )
    assert [m[0] for m in await marks(w)] == ["reached", "ahead", "ahead"]
    await donate(c, "250.00", "bob", "Go go go!")
    await w.page.wait_for_function(
        "() => parseFloat(document.querySelector('.charity-fill').style.width) === 55"
    )
    assert [m[0] for m in await marks(w)] == ["reached", "reached", "ahead"]
    assert await w.page.inner_text(".charity-raised") == "€550.00 / €1,000.00 (55%)"
    assert "left" in await w.page.inner_text(".charity-left")
    names = await w.page.eval_on_selector_all(
        ".charity-recent .name", "els => els.map(e => e.textContent)"
    )
    assert names == ["bob", "alice"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await w.page.wait_for_function("() => !document.querySelector('#alert-stage.show')")
    await fits(w, "#charity", 1000, 240)
    await w.page.screenshot(path=str(OUTPUT / "campaign.png"))

    # a refund drops the bar below the second mark: it fired, it is not reached
    row = await CharityEntry.get(viewer_name="bob")
    status, _ = await c.api("POST", f"/api/charity/entries/{row.id}/refund", json={})
    assert status == 201
    await w.page.wait_for_function(
        "() => parseFloat(document.querySelector('.charity-fill').style.width) === 30"
    )
    assert [m[0] for m in await marks(w)] == ["reached", "fired", "ahead"]
    await w.page.screenshot(path=str(OUTPUT / "campaign-after-refund.png"))

    # a long name is shortened in its chip, its amount never
    await donate(c, "150.00", "Maximilian von Streamington the Third")
    await w.page.wait_for_function(
        "() => document.querySelector('.charity-recent .amount').textContent === '€150.00'"
    )
    cut = await w.page.eval_on_selector(
        ".charity-recent li",
        "li => { const a = li.querySelector('.amount').getBoundingClientRect();"
        " const n = li.querySelector('.name');"
        " return [a.right <= li.getBoundingClientRect().right, n.scrollWidth > n.clientWidth]; }",
    )
    assert cut == [True, True]  # the amount whole, the name shortened
    assert w.errors == [] and w.dialogs == [] and w.blocked == []


async def test_idle_overlays_are_empty(chromium: Any, charity) -> None:
    c = await charity(campaigns=[])
    for name, size in (("charity", (1000, 240)), ("charity-wall", (420, 720))):
        w = await open_overlay(chromium, c, name, *size)
        text = await w.page.evaluate("document.body.innerText.trim()")
        assert text == ""
        assert w.errors == []
        OUTPUT.mkdir(parents=True, exist_ok=True)
        await w.page.screenshot(path=str(OUTPUT / f"{name}-idle.png"), omit_background=True)


async def test_xss_corpus_in_donor_names_and_messages_runs_nothing(chromium: Any, charity) -> None:
    config = {
        "overlays": {**FAST["overlays"], "charity": {"duration_ms": 500}},
        "plugins": {"charity": {"recent_donors": 5, "wall_size": 200}},
    }
    c = await charity(config, campaigns=[campaign(milestones=LADDER)])
    overlay = await open_overlay(chromium, c, "charity", 1000, 240)
    wall = await open_overlay(chromium, c, "charity-wall", 420, 720)
    for i, payload in enumerate(PAYLOADS):
        await donate(c, f"{i + 1}.00", payload, payload)
    # biggest first: the last payload gave the most; the wall shows as many whole rows as fit
    await wall.page.wait_for_function(
        "() => { const n = document.querySelector('.wall-donors .name');"
        f" return n && n.textContent.endsWith('entities') && window.Limelight.state"
        f"['pandas-2026'].donors.length === {len(PAYLOADS)}; }}",
        timeout=10_000,
    )
    await overlay.page.wait_for_function(
        f"() => window.Limelight.shown.length >= {len(PAYLOADS)}", timeout=60_000
    )
    names = await wall.page.eval_on_selector_all(
        ".wall-donors .name", "els => els.map(e => e.textContent)"
    )
    shown = [p[:200] for p in reversed(PAYLOADS)]  # names are capped at 200 characters
    assert len(names) >= 15
    assert names == shown[: len(names)]  # as text, byte for byte
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await wall.page.screenshot(path=str(OUTPUT / "wall-xss.png"))
    await overlay.page.screenshot(path=str(OUTPUT / "campaign-xss.png"))
    await fits(wall, "#wall", 420, 720)
    for w in (overlay, wall):
        assert await w.page.evaluate("window.__pwned") is None
        assert (
            await w.page.evaluate(
                "document.querySelectorAll('script:not([src]), iframe, object, embed, svg,"
                " img:not(.alert-image), style, base, meta[http-equiv], form').length"
            )
            == 0
        )
        assert w.dialogs == [] and w.errors == [] and w.blocked == [], w.blocked
        assert [m for m in w.console if "Refused" in m or "error" in m.lower()] == []
