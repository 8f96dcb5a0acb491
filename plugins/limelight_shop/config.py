"""The shop's settings: ``[plugins.shop]``, its products, and the webhook secrets it reads.

Products can live in the config (``[[plugins.shop.products]]``, synced into the catalog at
every start) or be made in the dashboard. ``[webhooks.shop-stripe] secret`` and
``[webhooks.fourthwall] secret`` switch those order endpoints on; Ko-fi Shop Orders arrive
through the tips plugin's ``/webhooks/kofi`` (Ko-fi has one webhook URL per account).
"""

from __future__ import annotations

import re
from typing import Any

from limelight import Money, PluginConfig
from pydantic import BaseModel, ConfigDict, Field, field_validator

SKU_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def currency_code(value: str) -> str:
    code = value.strip().upper()
    try:
        Money(0, code)
    except ValueError:
        raise ValueError(f"unknown currency {value!r} (expected an ISO 4217 code)") from None
    if code == "BITS":
        raise ValueError("BITS is not a currency a product can cost")
    return code


def check_sku(value: str) -> str:
    sku = value.strip().lower()
    if not SKU_RE.match(sku):
        raise ValueError(
            f"sku {value!r} must be 1-40 lower-case letters, digits, '-' or '_' "
            "(viewers type it: !claim <sku>)"
        )
    return sku


class ProductConfig(BaseModel):
    """One ``[[plugins.shop.products]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    sku: str
    name: str = Field(min_length=1, max_length=120)
    #: Price in major units as a string ("25.00"); "0" for a free item.
    price: str
    currency: str = "EUR"
    #: Sizes, colours...; empty for a product without variants.
    variants: list[str] = []
    #: An image URL (or upload one in the dashboard).
    image: str = ""
    #: The product's page in your own shop (Fourthwall, Ko-fi...), when checkout happens there.
    url: str = ""
    #: The Ko-fi shop item's direct_link_code, so Ko-fi Shop Orders count against its stock.
    kofi_code: str = ""

    @field_validator("sku")
    @classmethod
    def _sku(cls, value: str) -> str:
        return check_sku(value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return currency_code(value)

    @field_validator("price")
    @classmethod
    def _price(cls, value: str) -> str:
        Money.parse(value, "EUR")
        return value

    def money(self) -> Money:
        return Money.parse(self.price, self.currency)


class ShopConfig(PluginConfig):
    """``[plugins.shop]`` — every key is documented in config.example.toml and docs/shop.md."""

    products: list[ProductConfig] = []
    #: Minutes a claimed unit is held for the viewer to pay before it returns to stock.
    reservation_minutes: int = Field(10, ge=1, le=24 * 60)
    #: Default per-viewer limit of a new drop (units of the drop, all products together).
    per_viewer_limit: int = Field(1, ge=1, le=100)
    #: "stripe": a Stripe Checkout Session per reservation (needs stripe_api_key);
    #: "external": your own shop (products' url, else shop_url) with the reservation code.
    checkout: str = Field("stripe", pattern="^(stripe|external)$")
    #: Stripe secret key (sk_live_...); better set in the environment:
    #: LIMELIGHT_PLUGINS__SHOP__STRIPE_API_KEY.
    stripe_api_key: str = ""
    #: Where Stripe's API is (tests point it at a local fake).
    stripe_api_base: str = "https://api.stripe.com"
    #: Your shop's front page (the external checkout's fallback).
    shop_url: str = ""
    #: Key that signs viewers' drop-page links; empty = derived from [security] admin_token.
    link_secret: str = ""
    #: Minutes a viewer's personal drop-page link stays valid.
    link_ttl_minutes: int = Field(60, ge=1, le=24 * 60)
    #: Stock left (per product) at which chat hears "only N left"; 0 = never.
    low_stock_at: int = Field(5, ge=0)
    #: Least seconds between two low-stock lines in chat.
    stock_lines_every: float = Field(30.0, ge=0, le=3600)
    #: Chat lines ({name}, {item}, {amount}, {left} are filled in; empty = silent).
    thanks_template: str = "Thank you {name} for buying {item}!"
    #: The thanks for gifts bought for chat (a Fourthwall gift purchase); also {quantity}.
    gift_thanks_template: str = "{name} gifted {quantity}\u00d7 {item} to chat!"
    low_stock_template: str = "Only {left} {item} left!"
    sold_out_template: str = "{item} is sold out!"
    drop_started_template: str = "Merch drop open: {drop}. Type !merch to shop!"
    #: Overlays the shop pushes to; the alerts plugin's one-line ``ticker`` shows the open
    #: drop's name, countdown and stock too ("" leaves it alone).
    drop_overlay: str = "shop-drop"
    queue_overlay: str = "shop-queue"
    ticker_overlay: str = "ticker"

    # -- guest slots ("Go Live with") -------------------------------------------------------
    #: OBS scene the guest is brought on in, and the text source that shows their name.
    guest_scene: str = "Guest"
    guest_name_source: str = "Guest name"
    #: Scene to go back to when the guest is done ("" = stay).
    return_scene: str = ""
    #: Minutes each guest is on (the overlay's timer); 0 = no timer.
    guest_minutes: int = Field(5, ge=0, le=240)
    #: What the guest gets privately when called on ({name}, {link}); link = join_link.
    join_link: str = ""
    join_template: str = "You're up next on stream, {name}! Join here: {link}"

    @field_validator("products")
    @classmethod
    def _unique(cls, products: list[ProductConfig]) -> list[ProductConfig]:
        seen: set[str] = set()
        for product in products:
            if product.sku in seen:
                raise ValueError(f"two products have the sku {product.sku!r}")
            seen.add(product.sku)
        return products


def webhook_problems(name: str, table: Any) -> list[str]:
    """What is wrong with ``[webhooks.<name>]``, naming the key, never the value."""
    if not isinstance(table, dict):
        return [f"webhooks.{name}: must be a table"]
    problems = [f"webhooks.{name}.{key}: unknown key" for key in table if key != "secret"]
    secret = table.get("secret", "")
    if not isinstance(secret, str):
        problems.append(f"webhooks.{name}.secret: must be a string")
    elif not secret:
        problems.append(f"webhooks.{name}.secret: is empty; deliveries would be refused")
    return problems


def webhook_secret(raw: dict[str, dict[str, Any]], name: str) -> str:
    table = raw.get(name)
    if not isinstance(table, dict):
        return ""
    secret = table.get("secret", "")
    return secret if isinstance(secret, str) else ""
