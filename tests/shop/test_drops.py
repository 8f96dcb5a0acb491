"""Drops: chat commands, the checkout link, scheduling across a restart, live-only and
members-first windows, the drop events, the public page's signed claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from limelight import CustomEvent, StreamOffline, StreamOnline
from limelight_shop import ShopPlugin
from limelight_shop.models import Drop, Reservation

from .conftest import viewer


def _types(h) -> list[str]:
    return [e.custom_type for e in h.services.bus_spy] if hasattr(h.services, "bus_spy") else []


async def _events(s, kind: str) -> list[dict]:
    response = await s.h.client.get(
        "/api/events", params={"type": kind, "limit": "100"}, headers=s.h.admin_headers
    )
    assert response.status == 200, await response.text()
    return (await response.json())["events"]


async def test_merch_and_claim_in_chat_give_a_personal_checkout_link(shop, fake_stripe) -> None:
    api, base = fake_stripe
    s = await shop(
        {"plugins": {"shop": {"stripe_api_key": "sk_test_123", "stripe_api_base": base}}}
    )
    product = await s.product(variants=["S", "M"])
    await s.drop([(product, "S", 2), (product, "M", 0)])
    await s.h.chat_as("alice", "!merch")
    line = s.h.said[-1].text
    assert "hoodie Logo hoodie" in line and "S" in line and "M sold out" in line
    assert "/p/shop/drop?v=" in line
    await s.h.chat_as("alice", "!claim hoodie")
    assert "which one?" in s.h.said[-1].text
    await s.h.chat_as("alice", "!claim hoodie s")
    reply = s.h.said[-1].text
    assert "reserved for you for 10 min" in reply
    reservation = await Reservation.get()
    assert f"/p/shop/pay/{reservation.code}" in reply
    # the pay link makes one Checkout Session with the reservation and the owner tag
    for _ in range(2):
        response = await s.h.client.get(f"/p/shop/pay/{reservation.code}", allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert len(api.created) == 1
    sent = api.created[0]
    assert sent["client_reference_id"] == reservation.code
    assert sent["metadata[limelight]"] == "shop"
    assert sent["payment_intent_data[metadata][limelight]"] == "shop"
    assert sent["payment_intent_data[metadata][reservation]"] == reservation.code
    assert sent["metadata[item_name]"] == "Logo hoodie"  # what the order's alert calls it
    assert sent["line_items[0][price_data][unit_amount]"] == "2500"
    assert sent["line_items[0][price_data][currency]"] == "eur"
    assert sent["mode"] == "payment"
    await s.h.chat_as("alice", "!claim hoodie S")
    assert "limit of 1" in s.h.said[-1].text
    await s.h.chat_as("bob", "!claim hoodie M")
    assert "sold out" in s.h.said[-1].text
    # refusals are low-priority chatter (merged, or dropped when stale, under a rush);
    # the pay links are not
    assert s.h.said[-1].priority == "low"
    assert [m.priority for m in s.h.said if "pay here" in m.text] == ["normal"]


async def test_external_checkout_carries_the_reservation_code(shop) -> None:
    s = await shop(
        {"plugins": {"shop": {"checkout": "external", "shop_url": "https://shop.example/"}}}
    )
    await s.drop([(await s.product(), "", 2)])
    await s.h.chat_as("alice", "!claim hoodie")
    reservation = await Reservation.get()
    response = await s.h.client.get(f"/p/shop/pay/{reservation.code}")
    text = await response.text()
    assert response.status == 200
    assert f"SH-{reservation.code}" in text
    assert f"https://shop.example/?ref=SH-{reservation.code}" in text
    # what is held, for how much and how long, so the viewer knows what to buy
    assert "Logo hoodie" in text and "€25.00" in text and "10 minutes more" in text
    # a code that is no reservation, one that ran out, one that is paid: a page each
    missing = await s.h.client.get("/p/shop/pay/NOSUCHCODE")
    assert missing.status == 404 and "No such reservation" in await missing.text()
    await Reservation.filter(id=reservation.id).update(status="paid")
    paid = await s.h.client.get(f"/p/shop/pay/{reservation.code}")
    assert paid.status == 200 and "Paid, thank you!" in await paid.text()
    await Reservation.filter(id=reservation.id).update(status="released")
    gone = await s.h.client.get(f"/p/shop/pay/{reservation.code}")
    assert gone.status == 410 and "went back to stock" in await gone.text()
    assert "text/html" in gone.headers["Content-Type"]


async def test_drop_events_low_stock_and_sold_out_once(shop) -> None:
    s = await shop({"plugins": {"shop": {"low_stock_at": 2}}})
    product = await s.product()
    drop = await s.drop([(product, "", 4)], status="scheduled")
    assert await s.plugin.drops.open(drop.id)
    assert not await s.plugin.drops.open(drop.id)  # opens once
    for name in ("a", "b", "c", "d", "e"):
        await s.plugin.drops.claim(viewer(name), "hoodie")
    await s.h.settle()
    assert len(await _events(s, "shop.drop_started")) == 1
    low = await _events(s, "shop.low_stock")
    assert len(low) == 1 and low[0]["data"]["left"] == 2
    sold = await _events(s, "shop.sold_out")
    assert len(sold) == 1 and sold[0]["data"]["item"] == "Logo hoodie"
    said = [m.text for m in s.h.said]
    assert "Only 2 Logo hoodie left!" in said and "Logo hoodie is sold out!" in said
    assert said.count(f"Merch drop open: {drop.name}. Type !merch to shop!") == 1
    assert await s.plugin.drops.end(drop.id)
    await s.h.settle()
    assert len(await _events(s, "shop.drop_ended")) == 1
    # the dashboard's activity feed reads them in words, not as their type names
    feed = await (await s.h.client.get("/api/activity", headers=s.h.admin_headers)).json()
    lines = {(e["label"], e["text"]) for e in feed["events"] if e["type"].startswith("shop.")}
    assert {
        ("Drop opened", f"{drop.name} is open"),
        ("Low stock", f"Only 2 Logo hoodie left in {drop.name}"),
        ("Sold out", f"Logo hoodie sold out in {drop.name} (all 4)"),
        ("Drop ended", f"{drop.name} ended"),
    } <= lines, lines
    assert (
        await s.plugin.drops.claim(viewer("z"), "hoodie")
    ).refused == "hoodie is not on sale right now"


async def test_a_drop_scheduled_before_a_restart_opens_after_it(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    product = await s.product()
    # due two seconds from now: after this server is gone, while the next one runs
    starts = datetime.now(UTC) + timedelta(seconds=2)
    drop = await s.drop([(product, "", 5)], status="scheduled", starts_at=starts)
    s.plugin.drops.schedule(drop)
    assert s.h.ctx("shop").scheduler.next_run(f"open:{drop.id}") is not None
    await s.h.close()
    again = await shop(database_url=database_url)
    from tests.support import wait_until

    async def opened() -> bool:
        return (await Drop.get(id=drop.id)).status == "open"

    await wait_until(opened, timeout=20)
    assert datetime.now(UTC) >= starts
    assert (await again.plugin.drops.claim(viewer("alice"), "hoodie")).reservation is not None
    await again.h.settle()
    assert len(await _events(again, "shop.drop_started")) == 1


async def test_a_live_only_drop_waits_for_the_stream(shop) -> None:
    s = await shop()
    drop = await s.drop(
        [(await s.product(), "", 5)],
        status="scheduled",
        live_only=True,
        starts_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    await s.plugin.drops.open_due(drop.id)
    assert (
        "opens when the stream is live"
        in (await s.plugin.drops.claim(viewer("a"), "hoodie")).refused
    )
    await s.h.publish(StreamOnline(source="twitch", source_id="online-1"))
    assert (await Drop.get(id=drop.id)).status == "open"
    await s.h.publish(StreamOffline(source="twitch", source_id="offline-1"))
    assert (await Drop.get(id=drop.id)).status == "paused"
    await s.h.publish(StreamOnline(source="twitch", source_id="online-2"))
    assert (await Drop.get(id=drop.id)).status == "open"


async def test_members_first_window(shop) -> None:
    s = await shop()
    assert s.vip is not None
    s.vip.add(viewer("goldie"), "gold")
    await s.drop([(await s.product(), "", 5)], members_first_minutes=5, members_tiers=["gold"])
    refused = await s.plugin.drops.claim(viewer("pleb"), "hoodie")
    assert refused.refused.startswith("members only for")
    assert (await s.plugin.drops.claim(viewer("goldie"), "hoodie")).reservation is not None
    # six minutes later (the clock moved: the row says so, the cached catalog re-reads it)
    await Drop.filter().update(opened_at=datetime.now(UTC) - timedelta(minutes=6))
    s.plugin.drops.invalidate()
    assert (await s.plugin.drops.claim(viewer("pleb"), "hoodie")).reservation is not None


async def test_members_first_without_vip_fails_closed(shop) -> None:
    s = await shop(vip=False)
    await s.drop([(await s.product(), "", 5)], members_first_minutes=5)
    assert (await s.plugin.drops.claim(viewer("a"), "hoodie")).refused.startswith("members only")


async def test_public_page_claims_only_with_a_signed_link(shop) -> None:
    s = await shop()
    await s.drop([(await s.product(), "", 1)])
    token = s.plugin.links.sign(viewer("alice"))
    page = await s.h.client.get("/p/shop/drop", params={"v": token})
    assert page.status == 200 and "alice" in await page.text()
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    page = await s.h.client.get("/p/shop/drop", params={"v": forged})
    assert page.status == 400 and "This drop link is not valid." in await page.text()
    stale = s.plugin.links.sign(viewer("a"), now=0)
    page = await s.h.client.get("/p/shop/drop", params={"v": stale})
    assert page.status == 410
    text = await page.text()
    assert "<h1>This link has expired</h1>" in text
    assert "This drop link has expired; type !merch in chat for a new one." in text
    response = await s.h.client.post("/p/shop/claim", json={"token": forged, "sku": "hoodie"})
    assert response.status == 401
    response = await s.h.client.post("/p/shop/claim", json={"sku": "hoodie"})
    assert response.status == 401
    response = await s.h.client.post("/p/shop/claim", json={"token": token, "sku": "hoodie"})
    body = await response.json()
    assert response.status == 201 and body["ok"] and body["code"].startswith("SH-")
    state = await (await s.h.client.get("/p/shop/drop.json")).json()
    await s.plugin.board.refresh()
    state = await (await s.h.client.get("/p/shop/drop.json")).json()
    assert state["drop"]["sold_out"] is True
    assert state["drop"]["price"] == "€25.00"  # one price for all: that price
    response = await s.h.client.post(
        "/p/shop/claim", json={"token": s.plugin.links.sign(viewer("bob")), "sku": "hoodie"}
    )
    assert response.status == 409 and (await response.json())["message"] == "sold out"


async def test_dashboard_creates_products_and_drops_and_exports(shop) -> None:
    s = await shop()
    headers = s.h.admin_headers
    r = await s.h.client.post(
        "/api/shop/products",
        json={
            "sku": "Tee",
            "name": "Tee",
            "price": "20.00",
            "currency": "eur",
            "variants": ["S", "M"],
        },
        headers=headers,
    )
    assert r.status == 201, await r.text()
    r = await s.h.client.post(
        "/api/shop/products", json={"sku": "bad sku!", "name": "x", "price": "1"}, headers=headers
    )
    assert r.status == 400 and "sku" in (await r.json())["error"]
    r = await s.h.client.post(
        "/api/shop/drops",
        json={"name": "Drop", "items": [{"sku": "tee", "variant": "XL", "stock": 3}]},
        headers=headers,
    )
    assert r.status == 400 and "comes in S, M" in (await r.json())["error"]
    r = await s.h.client.post(
        "/api/shop/drops",
        json={"name": "Drop", "items": [{"sku": "tee", "variant": "S", "stock": 3}]},
        headers=headers,
    )
    assert r.status == 201, await r.text()
    drop_id = (await r.json())["drop"]["id"]
    r = await s.h.client.post(f"/api/shop/drops/{drop_id}/open", json={}, headers=headers)
    assert (await r.json())["drop"]["status"] == "open"
    await s.plugin.drops.claim(viewer("=cmd|calc"), "tee", "s")
    r = await s.h.client.get("/api/shop/reservations", headers=headers)
    assert len((await r.json())["reservations"]) == 1
    svg = await s.h.client.get(f"/api/shop/drops/{drop_id}/chart.svg", headers=headers)
    body = await svg.text()
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert "<svg" in body and "<script" not in body
    csv = await s.h.client.get("/api/shop/export.csv", headers=headers)
    assert csv.status == 200 and (await csv.text()).startswith("id,created_at")
    page = await s.h.client.get("/p/shop/", headers=headers)
    assert page.status == 200
    assert "script-src" in page.headers.get("Content-Security-Policy", "")


async def test_image_upload_goes_through_the_media_store(shop) -> None:
    from aiohttp import FormData

    from tests.core.test_media_emotes_peer import png

    s = await shop()
    product = await s.product()
    form = FormData()
    form.add_field("image", png(64, 64), filename="x.png", content_type="image/png")
    r = await s.h.client.post(
        f"/p/shop/products/{product.id}/image", data=form, headers=s.h.admin_headers
    )
    assert r.status == 200, await r.text()
    assert (await r.json())["product"]["image"].startswith("/-/uploads/")
    form = FormData()
    form.add_field("image", b"<svg onload=alert(1)>", filename="x.png", content_type="image/png")
    r = await s.h.client.post(
        f"/p/shop/products/{product.id}/image", data=form, headers=s.h.admin_headers
    )
    assert r.status == 400


__all__ = ["CustomEvent", "_types"]


async def test_doctor_names_what_stops_payments(shop) -> None:
    s = await shop()
    problems = s.plugin.check_checkout()
    assert len(problems) == 1 and "plugins.shop.stripe_api_key" in problems[0]
    await s.h.close()
    ok = await shop(
        {"plugins": {"shop": {"checkout": "external", "shop_url": "https://x.example"}}}
    )
    assert ok.plugin.check_checkout() == []


async def test_a_checkout_nobody_set_up_is_off_and_the_dashboard_says_so(limelight, shop) -> None:
    """A fresh install (no Stripe key, no shop webhook, nothing in [plugins.shop]): the
    doctor shows the checkout as off, not as failed; the Shop page says viewers cannot pay
    yet, with what to set, until they can."""
    fresh = await limelight(plugins={"shop": ShopPlugin})
    assert [t for p, t, _ in await fresh.host.doctor() if p == "shop"] == []
    [(plugin, title, why)] = fresh.host.doctor_off()
    assert (plugin, title) == ("shop", "shop checkout") and "stripe_api_key" in why
    page = await (await fresh.client.get("/p/shop/", headers=fresh.admin_headers)).text()
    assert "Viewers cannot pay yet" in page and "plugins.shop.stripe_api_key is empty" in page
    await fresh.close()
    # started (a Stripe webhook), not finished: a failure with what is missing
    half = await shop()
    assert half.plugin.checkout_off() == ""
    [(_, _, problems)] = [r for r in await half.h.host.doctor() if r[0] == "shop"]
    assert len(problems) == 1 and "stripe_api_key" in problems[0]
    await half.h.close()
    ready = await shop(
        {"plugins": {"shop": {"checkout": "external", "shop_url": "https://x.example"}}}
    )
    page = await (await ready.h.client.get("/p/shop/", headers=ready.h.admin_headers)).text()
    assert "Catalog" in page and "Viewers cannot pay yet" not in page


async def test_a_drop_of_several_prices_says_from_the_cheapest(shop) -> None:
    s = await shop()
    hoodie = await s.product(price=4500, variants=["S", "M"])
    cap = await s.product("cap", "Night owl cap", 1000)
    await s.drop([(hoodie, "S", 2), (hoodie, "M", 2), (cap, "", 5)])
    await s.plugin.board.refresh()
    state = await (await s.h.client.get("/p/shop/drop.json")).json()
    assert state["drop"]["price"] == "from €10.00"  # not the first item's €45.00
    assert [i["price"] for i in state["drop"]["items"]] == ["€45.00", "€45.00", "€10.00"]


async def test_the_ticker_shows_the_open_drop_and_empties_when_it_ends(shop) -> None:
    s = await shop()
    hoodie = await s.product(price=4500)
    drop = await s.drop([(hoodie, "", 3)])
    await s.plugin.drops.claim(viewer("ann"), "hoodie")
    await s.plugin.board.refresh()
    ticker = s.h.services.overlays.channel("ticker")
    assert ticker.state["shop-drop"] == {
        "title": drop.name,
        "text": "Type !merch to shop, €45.00",
        "ends_at": None,
        "stock": 2,
        "total": 3,
    }
    assert await s.plugin.drops.end(drop.id)
    await s.plugin.board.refresh()
    assert "shop-drop" not in ticker.state  # an idle ticker is empty on stream
