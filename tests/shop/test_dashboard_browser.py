"""The shop dashboard's refund notice in headless Chromium: a flagged order shows as a red
"Refund needed" card with the count and the order (its buyer's name as text), and the
*Refunded* button settles it through the CSRF-guarded fetch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from limelight.testing import ADMIN_TOKEN
from limelight_shop.models import Drop, Order

from tests.support import chromium_path, need

pytestmark = pytest.mark.browser

XSS_NAME = '<img src=x onerror="window.__pwned=1">'
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "shop"


async def test_refund_notice_counts_lists_and_settles(shop) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    s = await shop()
    for n, name in enumerate((XSS_NAME, "bob")):
        await Order.create(
            provider="shop-stripe",
            provider_id=f"pi_late_{n}",
            item_name="Logo hoodie",
            amount_minor=2500,
            currency="EUR",
            buyer_name=name,
            status="refund_due",
            note="paid after SH-ABCDEFGH ran out and the stock was gone: refund it",
        )
    await Order.create(
        provider="shop-stripe",
        provider_id="pi_paid",
        item_name="Logo hoodie",
        amount_minor=2500,
        currency="EUR",
        buyer_name="carol",
    )
    product = await s.product(variants=["S", "M"])
    await s.drop([(product, "S", 2), (product, "M", 0)])
    base = s.h.url("/").rstrip("/")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(),
            args=["--no-sandbox", "--disable-gpu"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1200})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(base + "/admin/login")
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.goto(base + "/p/shop/")
            await page.wait_for_selector("#shop-due tr:has-text('bob')")
            # the drop in words: products by name, no placeholder dashes
            await page.wait_for_selector("#shop-drops li")
            drops = await page.inner_text("#shop-drops")
            assert "Logo hoodie (S): 2 of 2 left" in drops
            assert "Logo hoodie (M): sold out (0)" in drops
            assert "No end time (End closes it), 1 per viewer." in drops and "—," not in drops
            # a new drop: units typed beside each product and size of the catalog
            await page.fill("#shop-drop-form input[name=name]", "Second drop")
            await page.click("#shop-drop-form button[type=submit]")  # nothing to sell yet
            assert "at least one product" in await page.inner_text("#shop-drop-error")
            await page.fill("#shop-stock-rows input[name='stock:hoodie:M']", "7")
            # guest slots free for a VIP tier: a box per tier of the VIP plugin
            tiers = await page.eval_on_selector_all(
                "#shop-drop-form input[name=free_tiers]",
                "els => els.map(e => [e.value, e.parentElement.textContent.trim()])",
            )
            assert tiers == [["silver", "Silver"], ["gold", "Gold"]]
            await page.check("#shop-drop-form input[name=free_tiers][value=gold]")
            await page.locator("#shop-drop-form").screenshot(path=str(OUTPUT / "new-drop.png"))
            await page.click("#shop-drop-form button[type=submit]")
            await page.wait_for_selector("#shop-drops h3:has-text('Second drop')")
            second = await Drop.get(name="Second drop").prefetch_related("items")
            assert [(i.variant, i.stock) for i in second.items] == [("M", 7)]
            assert second.free_tiers == ["gold"]
            assert await page.inner_text("#shop-due-title") == "Refund needed: 2 orders"
            assert await page.get_attribute("#shop-refunds", "class") == "card warning"
            due = await page.inner_text("#shop-due")
            assert XSS_NAME in due and "carol" not in due  # text, not markup; only flagged
            OUTPUT.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(OUTPUT / "refund-notice.png"))

            await page.click("#shop-due tr:has-text('bob') button:has-text('Refunded')")
            await page.wait_for_selector("#shop-due tr:has-text('bob')", state="detached")
            assert await page.inner_text("#shop-due-title") == "Refund needed: 1 order"
            await page.click("#shop-due tr button:has-text('Refunded')")
            await page.wait_for_function(
                "() => document.getElementById('shop-due-title').textContent"
                " === 'Refunds to handle'"
            )
            assert await page.is_visible("#shop-due-none")
            assert await page.get_attribute("#shop-refunds", "class") == "card"
            assert await Order.filter(status="refund_due").count() == 0
            assert await page.evaluate("typeof window.__pwned") == "undefined"
            assert errors == []
        finally:
            await browser.close()
