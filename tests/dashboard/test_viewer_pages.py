"""The pages viewers open from chat, on a phone (390 x 844): a tip link, a join link, the
drop page, a reservation, the challenges page and a link that expired. Everything they
say is inside the screen's width, the next step (a button) is on the first screen, and
what a claim did stays in sight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from limelight import ViewerRef
from limelight.testing import make_settings, start_harness
from limelight_alerts import AlertsPlugin
from limelight_challenges import ChallengesPlugin
from limelight_shop import ShopPlugin
from limelight_shop.models import Drop, DropItem, Product
from limelight_tips import TipsPlugin
from limelight_vip import VipPlugin

from .media import png
from .test_browser import FAST_THEME, browser  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "viewer"
PHONE = {"width": 390, "height": 844}
CONFIG = {
    "server": {"name": "Aurora Live"},
    "overlays": {"theme": FAST_THEME},
    "plugins": {
        "tips": {
            "kofi_page": "https://ko-fi.com/streamer",
            "stripe_payment_link": "https://buy.stripe.com/test_tip",
        },
        "vip": {
            "kofi_page": "https://ko-fi.com/streamer",
            "tiers": [
                {"name": "silver", "label": "Silver", "twitch_tier": "1000", "perks": ["emotes"]},
                {
                    "name": "gold",
                    "label": "Gold",
                    "badge": "G",
                    "perks": ["emotes", "room", "members_only_chat"],
                    "price": "20.00",
                    "currency": "USD",
                    "stripe_payment_link": "https://buy.stripe.com/test_gold",
                },
            ],
        },
        "shop": {"checkout": "external", "shop_url": "https://shop.example/"},
        "challenges": {
            "challenges": [
                {
                    "key": "hello",
                    "title": "Say hi twice",
                    "metric": "chat_messages",
                    "target": 2,
                    "window": "week",
                },
                {
                    "key": "chatters",
                    "title": "50 chatters this week",
                    "metric": "unique_chatters",
                    "target": 50,
                    "window": "week",
                    "milestones": [{"at": 25, "label": "Halfway party"}],
                },
            ]
        },
    },
}

#: Elements holding text that lies outside the screen's width (cut off, or only reachable
#: by scrolling a box sideways), and the page's own sideways scroll.
OFF_SCREEN = """(width) => {
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length) continue;
    const r = e.getBoundingClientRect();
    if (r.right > width + 1 || r.left < -1) {
      out.push(e.tagName + ': ' + e.textContent.trim().slice(0, 40));
    }
  }
  const page = document.documentElement.scrollWidth;
  if (page > width) out.push('page: ' + page);
  return out;
}"""
#: Whether an element is wholly on the screen as it is scrolled now.
IN_SIGHT = """(e) => { const r = e.getBoundingClientRect();
  return r.top >= 0 && r.left >= 0 &&
    r.bottom <= window.innerHeight && r.right <= window.innerWidth; }"""


async def look(page: Any, path: str, name: str) -> list[str]:
    """Open ``path``, let it draw, keep a screenshot, and say what lies off the screen."""
    await page.goto(path)
    await page.wait_for_load_state("networkidle")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
    return list(await page.evaluate(OFF_SCREEN, PHONE["width"]))


async def test_the_pages_viewers_open_from_chat_fit_a_phone(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    plugins = {
        "alerts": AlertsPlugin,
        "tips": TipsPlugin,
        "vip": VipPlugin,
        "shop": ShopPlugin,
        "challenges": ChallengesPlugin,
    }
    h = await start_harness(make_settings(tmp_path, CONFIG), plugins)
    try:
        assert all(h.host.info[name].enabled for name in plugins), h.host.info
        shop = h.plugin("shop", ShopPlugin)
        photo = await h.ctx("shop").media.store(png(200, 200))
        product = await Product.create(
            sku="hoodie", name="Logo hoodie", price_minor=4500, currency="EUR", image=photo.url
        )
        cap = await Product.create(sku="cap", name="Night owl cap", price_minor=2500)
        drop = await Drop.create(name="Friday night drop", status="scheduled", per_viewer_limit=1)
        for thing, variant in ((product, "S"), (product, "M"), (product, "L"), (cap, "")):
            await DropItem.create(drop=drop, product=thing, variant=variant, stock=9, remaining=9)
        assert await shop.drops.open(drop.id)
        held = await shop.drops.claim(ViewerRef("twitch", "2", "bob"), "hoodie", "M")
        assert held.reservation is not None
        for name in ("ann", "ann", "cy"):  # one challenge done, one under way
            await h.chat_as(name, "hi")
        await h.plugin("challenges", ChallengesPlugin).settle()
        await h.settle()

        tip_links = h.plugin("tips", TipsPlugin).intake.links
        join_codes = h.plugin("vip", VipPlugin).stripe.codes
        assert tip_links is not None and join_codes is not None
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        wide: dict[str, list[str]] = {}

        # a tip link: the code to copy, then the two ways to pay, both on the first screen
        wide["tip"] = await look(page, h.url(f"/p/tips/go/{tip_links.sign('ABCDEFGH')}"), "tip")
        assert await page.inner_text("#personal-code") == "LL-ABCDEFGH"
        # the channel's name heads the page, not the software's
        assert await page.inner_text("header .brand") == "Aurora Live"
        assert await page.inner_text("h1") == "Tip Aurora Live"
        for label in ("Tip by card", "Tip on Ko-fi"):
            assert await page.get_by_role("link", name=label).evaluate(IN_SIGHT), label
        await page.click("button[data-copy=personal-code]")
        await page.wait_for_function("() => document.querySelector('.copy-status').textContent")

        # a join link: each tier as a card, a price in the streamer's money format
        code = join_codes.sign("JOINCODE")
        wide["join"] = await look(page, h.url(f"/p/vip/join/{code}"), "join")
        text = await page.inner_text("#vip-join")
        assert "$20.00 a month" in text and "20.00 USD" not in text
        assert "Comes with a Tier 1 sub on Twitch." in text
        assert (
            await page.eval_on_selector(".vip-offers", "e => getComputedStyle(e).listStyleType")
            == "none"  # the plugin's stylesheet is on the page: cards, not bullets
        )
        assert await page.get_by_role("link", name="Join Gold").count() == 1

        # a reservation: what is held, for how much and how long, and the way to pay
        wide["pay"] = await look(page, h.url(f"/p/shop/pay/{held.reservation.code}"), "pay")
        facts = await page.inner_text(".facts")
        assert "Logo hoodie (M)" in facts and "€45.00" in facts and "minutes more" in facts
        assert await page.get_by_role("link", name="Open the shop").evaluate(IN_SIGHT)

        # the drop: a row per item, and what a claim did in sight wherever it was tapped
        token = shop.links.sign(ViewerRef("twitch", "1", "alice"))
        await page.goto(h.url(f"/p/shop/drop?v={token}"))
        await page.wait_for_selector(".shop-page-item button")
        heights = await page.eval_on_selector_all(
            ".shop-page-item", "items => items.map(e => e.getBoundingClientRect().height)"
        )
        assert len(heights) == 4 and max(heights) < 220, heights  # not a screen per item
        await page.locator(".shop-page-item button").first.click()
        result = page.locator("#shop-page-result")
        await page.wait_for_function(
            "() => document.getElementById('shop-page-result').textContent.includes('SH-')"
        )
        assert await result.evaluate(IN_SIGHT)
        await page.screenshot(path=str(OUTPUT / "drop-claimed.png"))
        assert await result.get_by_role("link", name="Pay now").count() == 1
        wide["drop"] = await look(page, page.url, "drop")

        # the challenges: what is running with its bar, and what was achieved
        wide["challenges"] = await look(page, h.url("/p/challenges/achievements"), "challenges")
        now = await page.inner_text("#challenges-now")
        assert "50 chatters this week" in now and "2 / 50 chatters" in now
        assert "next: Halfway party at 25 chatters" in now
        assert await page.locator("#challenges-now progress").count() == 2
        done = await page.inner_text("#achievements")
        assert "Say hi twice" in done and "3 of 2 messages" in done

        # a link that ran out: a page that says so and how to get a new one
        expired = tip_links.sign("ABCDEFGH", now=0)
        wide["expired"] = await look(page, h.url(f"/p/tips/go/{expired}"), "expired")
        assert await page.inner_text("h1") == "This link has expired"
        assert "type !tip in chat for a new one" in await page.inner_text("#notice-message")

        assert {name: found for name, found in wide.items() if found} == {}
        await context.close()
    finally:
        await h.close()
