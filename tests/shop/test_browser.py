"""The drop overlay, the guest-queue overlay and the public drop page in real Chromium:
the stock bar moves, sold out shows, an idle overlay is empty, and the XSS corpus in
product and buyer names runs nothing and requests nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from limelight.testing import OVERLAY_TOKEN, make_settings, start_harness
from limelight_alerts import AlertsPlugin
from limelight_shop import ShopPlugin
from limelight_shop.models import Drop, DropItem, Guest, Order, Product

from tests.overlays.test_browser import PAYLOADS, Watched, _same_origin, browser  # noqa: F401

from .conftest import viewer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "shop"
CANARY = "window.__pwned"


def png(width: int, height: int, rgba: bytes = b"\x7c\x5c\xff\xff") -> bytes:
    """A solid-colour PNG (a stand-in product photo)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + rgba * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest_asyncio.fixture(loop_scope="module")
async def server(tmp_path: Path) -> AsyncIterator[Any]:
    settings = make_settings(tmp_path, {"plugins": {"shop": {"stock_lines_every": 0}}})
    h = await start_harness(settings, {"shop": ShopPlugin, "alerts": AlertsPlugin})
    try:
        yield h
    finally:
        await h.close()


async def _open(browser: Any, server: Any, path: str, width: int, height: int) -> Watched:  # noqa: F811
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    origin = server.url("/").rstrip("/")
    watched = Watched(page, origin)

    async def guard(route: Any) -> None:
        url = route.request.url
        watched.requests.append(url)
        if _same_origin(url, origin):
            await route.continue_()
        else:
            watched.blocked.append(url)
            await route.abort()

    await page.route("**/*", guard)

    async def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: watched.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    await page.goto(server.url(path))
    return watched


async def _make_drop(server: Any, name: str, stock: int) -> tuple[Drop, DropItem]:
    stored = await server.ctx("shop").media.store(png(200, 200))
    product, _ = await Product.update_or_create(
        sku="hoodie",
        defaults={"name": name, "price_minor": 4500, "currency": "EUR", "image": stored.url},
    )
    drop = await Drop.create(name="Friday drop", status="scheduled", per_viewer_limit=1)
    item = await DropItem.create(drop=drop, product=product, stock=stock, remaining=stock)
    assert await server.plugin("shop", ShopPlugin).drops.open(drop.id)
    return drop, item


async def _fill(w: Watched) -> float:
    return await w.page.evaluate(
        "parseFloat(document.querySelector('.shop-drop-fill').style.width) || 0"
    )


async def test_drop_overlay_stock_bar_sold_out_and_xss(browser: Any, server: Any) -> None:  # noqa: F811
    plugin = server.plugin("shop", ShopPlugin)
    w = await _open(browser, server, f"/overlays/shop-drop?token={OVERLAY_TOKEN}", 720, 240)
    await w.wait_connected()
    # idle: nothing drawn, no text
    assert await w.page.evaluate("document.getElementById('shop-drop').hidden")
    assert (await w.page.evaluate("document.body.innerText")).strip() == ""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await w.page.screenshot(path=str(OUTPUT / "drop-empty.png"))

    hostile = PAYLOADS[1]  # <img src=x onerror=...> as the product name
    drop, item = await _make_drop(server, hostile, 4)
    await w.page.wait_for_function(
        "() => !document.getElementById('shop-drop').hidden", timeout=10_000
    )
    await w.page.wait_for_function(
        "() => parseFloat(document.querySelector('.shop-drop-fill').style.width) === 100",
        timeout=10_000,
    )
    assert await w.page.evaluate("document.querySelector('.shop-drop-name').textContent") == hostile
    # a long name gives way to the price, which is never cut
    price = await w.page.evaluate(
        "(() => { const p = document.querySelector('.shop-drop-price');"
        " const t = document.querySelector('.shop-drop-title').getBoundingClientRect();"
        " const r = p.getBoundingClientRect();"
        " return [p.textContent, r.left >= t.left && r.right <= t.right + 1]; })()"
    )
    assert price == ["€45.00", True]
    assert "4 of 4 left" in await w.page.evaluate(
        "document.querySelector('.shop-drop-left').textContent"
    )

    assert (await plugin.drops.claim(viewer("alice"), "hoodie")).reservation is not None
    await w.page.wait_for_function(
        "() => parseFloat(document.querySelector('.shop-drop-fill').style.width) === 75",
        timeout=10_000,
    )

    # buyers with the whole XSS corpus as names (text only on screen)
    for n, payload in enumerate(PAYLOADS):
        await Order.create(
            provider="test",
            provider_id=f"x{n}",
            drop_id=drop.id,
            item_id=item.id,
            amount_minor=4500,
            currency="EUR",
            buyer_name=payload[:200],
            status="paid",
        )
    for name in ("bob", "carol", "dave"):
        await plugin.drops.claim(viewer(name), "hoodie")
    await w.page.wait_for_function(
        "() => !document.querySelector('.shop-drop-soldout').hidden", timeout=10_000
    )
    assert await _fill(w) == 0
    await w.page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.shop-drop-fill')).width === '0px'",
        timeout=10_000,
    )
    buyers = await w.page.evaluate("document.querySelector('.shop-drop-buyers').textContent")
    assert buyers.startswith("Latest: ")
    await w.page.screenshot(path=str(OUTPUT / "drop-sold-out.png"))
    box = await w.page.evaluate(
        "(() => { const r = document.getElementById('shop-drop').getBoundingClientRect();"
        " return [r.right, r.bottom]; })()"
    )
    assert box[0] <= 720 and box[1] <= 240  # fits its declared size
    assert await w.page.evaluate(f"typeof {CANARY}") == "undefined"
    assert w.dialogs == [] and w.blocked == [] and w.errors == []
    assert (
        await w.page.evaluate(
            "document.querySelectorAll('script:not([src]), iframe, svg, object, embed').length"
        )
        == 0
    )

    await plugin.drops.end(drop.id)
    await w.page.wait_for_function(
        "() => document.getElementById('shop-drop').hidden", timeout=10_000
    )
    await w.page.context.close()


async def test_public_page_claims_and_shows_stock(browser: Any, server: Any) -> None:  # noqa: F811
    plugin = server.plugin("shop", ShopPlugin)
    await _make_drop(server, PAYLOADS[0], 2)
    token = plugin.links.sign(viewer("alice"))
    w = await _open(browser, server, f"/p/shop/drop?v={token}", 900, 700)
    await w.page.wait_for_selector(".shop-page-item button", timeout=10_000)
    assert (
        await w.page.evaluate("document.querySelector('.shop-page-item h3').textContent")
        == PAYLOADS[0]
    )
    await w.page.click(".shop-page-item button")
    await w.page.wait_for_function(
        "() => document.getElementById('shop-page-result').textContent"
        ".includes('Reserved for you: SH-')",
        timeout=10_000,
    )
    await w.page.wait_for_function(
        "() => document.querySelector('.shop-page-left').textContent === '1 of 2 left'",
        timeout=10_000,
    )
    await plugin.drops.claim(viewer("bob"), "hoodie")
    await w.page.wait_for_function(
        "() => document.querySelector('.shop-page-left').textContent === 'Sold out'", timeout=10_000
    )
    await w.page.screenshot(path=str(OUTPUT / "drop-page.png"))
    assert await w.page.evaluate(f"typeof {CANARY}") == "undefined"
    assert w.dialogs == [] and w.blocked == [] and w.errors == []
    await w.page.context.close()


async def test_queue_overlay_shows_who_is_on_and_next(browser: Any, server: Any) -> None:  # noqa: F811
    plugin = server.plugin("shop", ShopPlugin)
    w = await _open(browser, server, f"/overlays/shop-queue?token={OVERLAY_TOKEN}", 420, 360)
    await w.wait_connected()
    assert (await w.page.evaluate("document.body.innerText")).strip() == ""
    for n, name in enumerate(["Ada Lovelace", PAYLOADS[3], "Grace", "Linus", "Margaret"]):
        await Guest.create(
            drop_id=1,
            viewer_key=f"t:{n}",
            viewer_platform="twitch",
            viewer_id=str(n),
            viewer_name=name,
            position=float(n),
            member_rank=1 if n == 2 else -1,
        )
    await plugin.guests.next()
    await w.page.wait_for_function(
        "() => document.querySelector('.shop-queue-now').textContent === 'Ada Lovelace'",
        timeout=10_000,
    )
    await w.page.wait_for_function(
        "() => document.querySelectorAll('.shop-queue-list li').length === 4", timeout=10_000
    )
    await w.page.screenshot(path=str(OUTPUT / "queue.png"))
    assert await w.page.evaluate(f"typeof {CANARY}") == "undefined"
    assert w.dialogs == [] and w.blocked == [] and w.errors == []
    await w.page.context.close()
