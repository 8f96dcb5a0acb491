"""Fixtures for the shop suite: a server with the shop (and tips, alerts, a fake VIP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from limelight import ViewerRef
from limelight.testing import Harness, merge_config
from limelight_alerts import AlertsPlugin
from limelight_shop import ShopPlugin
from limelight_shop.models import Drop, DropItem, Product
from limelight_tips import TipsPlugin

from tests.tips.doubles import KOFI_TOKEN

from .doubles import FOURTHWALL_SECRET, SHOP_STRIPE_SECRET, FakeStripeApi, FakeVip


@dataclass
class Shop:
    h: Harness
    vip: FakeVip | None

    @property
    def plugin(self) -> ShopPlugin:
        return self.h.plugin("shop", ShopPlugin)

    async def product(
        self,
        sku: str = "hoodie",
        name: str = "Logo hoodie",
        price: int = 2500,
        *,
        kind: str = "merch",
        variants: list[str] | None = None,
        image: str = "",
        kofi_code: str = "",
    ) -> Product:
        product, _ = await Product.update_or_create(
            sku=sku,
            defaults={
                "name": name,
                "price_minor": price,
                "currency": "EUR",
                "kind": kind,
                "variants": variants or [],
                "image": image,
                "kofi_code": kofi_code,
            },
        )
        return product

    async def drop(
        self,
        items: list[tuple[Product, str, int]],
        *,
        status: str = "open",
        limit: int = 1,
        **fields: Any,
    ) -> Drop:
        drop = await Drop.create(
            name=fields.pop("name", "Friday drop"),
            status=status,
            per_viewer_limit=limit,
            opened_at=datetime.now(UTC) if status == "open" else None,
            **fields,
        )
        for product, variant, stock in items:
            await DropItem.create(
                drop=drop, product=product, variant=variant, stock=stock, remaining=stock
            )
        return drop

    async def left(self, drop: Drop) -> int:
        return sum(i.remaining for i in await DropItem.filter(drop_id=drop.id))

    async def post(self, provider: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = await self.h.client.post(f"/webhooks/{provider}", data=body, headers=headers)
        payload = await response.json()
        await self.h.settle()
        return response.status, payload


def viewer(name: str) -> ViewerRef:
    return ViewerRef("twitch", f"{name.lower()}-id", name)


SHOP_WEBHOOKS = {
    "webhooks": {
        "shop-stripe": {"secret": SHOP_STRIPE_SECRET},
        "fourthwall": {"secret": FOURTHWALL_SECRET},
        "kofi": {"verification_token": KOFI_TOKEN},
    }
}


@pytest.fixture
async def fake_stripe() -> AsyncIterator[tuple[FakeStripeApi, str]]:
    api = FakeStripeApi()
    server = TestServer(api.app())
    await server.start_server()
    try:
        yield api, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
def shop(limelight: Callable[..., Awaitable[Harness]]) -> Callable[..., Awaitable[Shop]]:
    async def start(
        config: dict[str, Any] | None = None,
        *,
        database_url: str | None = None,
        vip: bool = True,
        tips: bool = True,
    ) -> Shop:
        fake = FakeVip() if vip else None
        plugins: dict[str, object] = {"shop": ShopPlugin, "alerts": AlertsPlugin}
        if tips:
            plugins["tips"] = TipsPlugin
        if fake is not None:
            plugins["vip"] = fake
        base = merge_config(
            SHOP_WEBHOOKS,
            {
                "plugins": {
                    "shop": {"stock_lines_every": 0},
                    **({"tips": {"thanks_window": 0}} if tips else {}),
                }
            },
        )
        h = await limelight(
            plugins=plugins, config=merge_config(base, config or {}), database_url=database_url
        )
        assert h.host.info["shop"].enabled, h.host.info["shop"].reason
        return Shop(h, fake)

    return start


__all__ = ["Shop", "timedelta", "viewer", "web"]
