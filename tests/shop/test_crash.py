"""The server, run as a real process, is SIGKILLed in the middle of a burst of order
deliveries from Stripe, Fourthwall and Ko-fi, each delivered five times at once. After a
restart and the providers' retries, every order is in the shop once and the drop's stock
matches the orders exactly."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.core.procs import clean_env, running_server
from tests.tips.doubles import KOFI_TOKEN, kofi_payload, kofi_request

from .doubles import (
    FOURTHWALL_SECRET,
    SHOP_STRIPE_SECRET,
    fourthwall_order,
    fourthwall_request,
    session_completed,
    stripe_request,
)

ADMIN = "shop-crash-admin-token"
PER_PROVIDER = 30
COPIES = 5
KILL_AFTER = 120  # 2xx answers
STOCK = 1000


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[server]
host = "127.0.0.1"

[security]
admin_token = "{ADMIN}"
overlay_token = "shop-crash-overlay-token"

[database]
url = "{database_url}"

[webhooks.shop-stripe]
secret = "{SHOP_STRIPE_SECRET}"

[webhooks.fourthwall]
secret = "{FOURTHWALL_SECRET}"

[webhooks.kofi]
verification_token = "{KOFI_TOKEN}"

[plugins.tips]
thanks = false

[[plugins.shop.products]]
sku = "hoodie"
name = "Logo hoodie"
price = "25.00"
kofi_code = "1a2b3c4d5e"
""",
        encoding="utf-8",
    )
    return path


def _deliveries() -> list[tuple[str, str, bytes, dict[str, str]]]:
    """(key, provider, body, headers) for every order."""
    out = []
    for n in range(PER_PROVIDER):
        event = session_completed(f"NOPE{n:04d}", name=f"s{n}")
        out.append(
            (event["data"]["object"]["payment_intent"], "shop-stripe", *stripe_request(event))
        )
        order = fourthwall_order(name=f"f{n}")
        out.append((order["data"]["id"], "fourthwall", *fourthwall_request(order)))
        payload = kofi_payload("Shop Order", "25.00", from_name=f"k{n}")
        out.append((payload["kofi_transaction_id"], "kofi", *kofi_request(payload)))
    return out


async def _send_all(base: str, deliveries, kill: asyncio.Event | None) -> set[str]:
    acked: set[str] = set()
    answers = 0

    async def one(
        session: aiohttp.ClientSession,
        key: str,
        provider: str,
        body: bytes,
        headers: dict[str, str],
    ) -> None:
        nonlocal answers
        try:
            async with session.post(
                f"{base}/webhooks/{provider}", data=body, headers=headers
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    acked.add(key)
                    answers += 1
                    if kill is not None and answers >= KILL_AFTER:
                        kill.set()
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass

    timeout = aiohttp.ClientTimeout(total=15)
    connector = aiohttp.TCPConnector(limit=20)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(one(session, *d) for d in deliveries for _ in range(COPIES)))
    return acked


async def _api(base: str, path: str, body: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with aiohttp.ClientSession() as session:
        if body is None:
            async with session.get(base + path, headers=headers) as r:
                assert r.status == 200, await r.text()
                return await r.json()
        async with session.post(base + path, json=body, headers=headers) as r:
            assert r.status in (200, 201), await r.text()
            return await r.json()


async def _orders(base: str) -> list[dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            base + "/api/shop/export.csv", headers={"Authorization": f"Bearer {ADMIN}"}
        ) as response,
    ):
        assert response.status == 200
        return list(csv.DictReader(io.StringIO(await response.text())))


@pytest.mark.slow
async def test_sigkill_in_a_burst_of_orders_loses_none_and_doubles_none(
    database_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, database_url)
    env = clean_env(LIMELIGHT_PLUGINS="shop,tips,alerts")
    deliveries = _deliveries()
    with running_server(config, tmp_path, env=env) as server:
        status, health = server.get("/healthz")
        assert status == 200, health
        assert any(p["name"] == "shop" and p["status"] == "enabled" for p in health["plugins"])
        drop = (
            await _api(
                server.base,
                "/api/shop/drops",
                {"name": "Crash drop", "items": [{"sku": "hoodie", "stock": STOCK}]},
            )
        )["drop"]
        await _api(server.base, f"/api/shop/drops/{drop['id']}/open", {})
        kill = asyncio.Event()

        async def killer() -> None:
            await kill.wait()
            server.process.send_signal(signal.SIGKILL)

        kill_task = asyncio.create_task(killer())
        acked = await _send_all(server.base, deliveries, kill)
        await kill_task
        assert server.process.wait(timeout=10) == -signal.SIGKILL
    assert acked and len(acked) < len(deliveries), len(acked)

    with running_server(config, tmp_path, env=env) as server:
        first = {row["provider_id"] for row in await _orders(server.base)}
        assert acked <= first, "an order answered 2xx is missing after the crash"
        # the providers retry everything they did not get a 2xx for (and some they did)
        again = await _send_all(server.base, deliveries, None)
        assert len(again) == len(deliveries)
        rows = await _orders(server.base)
        ids = [row["provider_id"] for row in rows]
        assert len(ids) == len(set(ids)) == len(deliveries), "an order is in the shop twice"
        assert {row["status"] for row in rows} == {"paid"}
        drops = (await _api(server.base, "/api/shop/drops"))["drops"]
        left = drops[0]["items"][0]["left"]
        assert left == STOCK - len(deliveries), "stock and orders disagree"
    print(json.dumps({"acked_before_kill": len(acked), "orders": len(ids), "left": left}))
