#!/usr/bin/env python3
"""Screenshots of the default overlays and the dashboard, from the real pages.

Starts ``limelight run`` on a free port in a throw-away folder (its own config, SQLite
database and media folder), feeds it a realistic stream through the admin API (a stream
going live, tips, a refund, cheers, subscriptions, a raid, chat), then opens every overlay
at the size it declares and the main dashboard pages in headless Chromium and writes PNGs:

    .venv/bin/python scripts/screenshots.py            # into docs/images/
    .venv/bin/python scripts/screenshots.py --out DIR  # somewhere else

Needs Debian's ``chromium`` and the ``test`` extra (Playwright). Re-run it whenever an
overlay or a dashboard page changes; the docs embed the files it writes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "screenshot-admin-token-0123456789abcdef"
OVERLAY_TOKEN = "screenshot-overlay-token-0123456789abcdef"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Dashboard pages shot, file name -> path (full page, at a laptop's width).
PAGES = {
    "dashboard-overview": "/admin/",
    "dashboard-overlays": "/admin/overlays",
    "dashboard-chat": "/admin/chat",
    "dashboard-report": "/admin/report",
    "dashboard-moderators": "/admin/moderators",
    "dashboard-tips": "/p/tips/",
    "dashboard-alert-editor": "/admin/alerts",
    "dashboard-members": "/p/vip/",
    "dashboard-shop": "/p/shop/",
    "dashboard-charity": "/p/charity/",
    "dashboard-charity-report": "/p/charity/pandas/report",
    "dashboard-challenges": "/p/challenges/",
}
DASHBOARD_WIDTH = 1280
#: The same pages at a phone's / an OBS dock's width.
NARROW = {"dashboard-overlays-narrow": "/admin/overlays"}
NARROW_WIDTH = 420

CONFIG = """\
[server]
host = "127.0.0.1"
port = {port}

[security]
admin_token = "{admin}"
overlay_token = "{overlay}"

[database]
url = "sqlite://{folder}/limelight.sqlite3"

[obs]
enabled = false

[webhooks.kofi]
verification_token = "{kofi}"

[webhooks.fourthwall]
secret = "{fourthwall}"

[plugins.tips]
base_currency = "USD"
goal_title = "New microphone"
goal_target = "250.00"
goal_period = "month"

[plugins.vip]
[[plugins.vip.tiers]]
name = "silver"
label = "Silver"
colour = "#b8c0cc"
badge = "☆"
perks = ["emotes", "room"]
twitch_tier = "1000"
[[plugins.vip.tiers]]
name = "gold"
label = "Gold"
colour = "#f5a623"
badge = "★"
perks = ["emotes", "room", "content", "members_only_chat", "early_access"]
highlight = true
twitch_tier = "3000"
price = "20.00"
currency = "USD"
[[plugins.vip.purchases]]
min_amount = "20.00"
currency = "USD"
tier = "gold"
days = 30

[plugins.charity]
[[plugins.charity.campaigns]]
id = "pandas"
title = "Pandas need bamboo"
cause = "WWF"
cause_url = "https://www.worldwildlife.org/"
goal = "1000.00"
currency = "USD"
starts_at = "{starts}"
ends_at = "{ends}"
milestones = [
  {{ at = 25000, label = "Hair dye!", actions = [] }},
  {{ at = 50000, label = "Spicy noodles", actions = [] }},
  {{ at = 75000, label = "12-hour stream", actions = [] }},
]

[plugins.challenges]
currency = "USD"
[[plugins.challenges.challenges]]
key = "tips"
title = "$200 in tips this stream"
metric = "tips"
target = 20000
window = "stream"
[[plugins.challenges.challenges.milestones]]
at = 10000
label = "Halfway: spicy noodles"
actions = []
[[plugins.challenges.challenges]]
key = "chatters"
title = "50 chatters today"
metric = "unique_chatters"
target = 50
window = "day"
[[plugins.challenges.challenges]]
key = "members"
title = "10 new members this week"
metric = "new_members"
target = 10
window = "week"

[plugins.shop]
checkout = "external"
shop_url = "https://shop.example.com/"
"""
KOFI_TOKEN = "screenshot-kofi-token"
FOURTHWALL_SECRET = "screenshot-fourthwall-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``limelight run`` in a folder of its own, and the admin API of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = folder / "config.toml"
        now = datetime.now(UTC).replace(microsecond=0)
        self.config.write_text(
            CONFIG.format(
                port=self.port,
                admin=ADMIN_TOKEN,
                overlay=OVERLAY_TOKEN,
                kofi=KOFI_TOKEN,
                fourthwall=FOURTHWALL_SECRET,
                folder=folder,
                starts=(now - timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
                ends=(now + timedelta(hours=10)).isoformat().replace("+00:00", "Z"),
            ),
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIMELIGHT_")}
        env["LIMELIGHT_CONFIG"] = str(self.config)
        script = Path(sys.executable).parent / "limelight"
        command = [str(script), "run", "--config", str(self.config)]
        self.log = (self.folder / "server.log").open("wb")
        self.process = subprocess.Popen(
            command, cwd=self.folder, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    "limelight run exited:\n" + (self.folder / "server.log").read_text()
                )
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise SystemExit("limelight run did not answer /healthz in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if hasattr(self, "log"):
            self.log.close()

    def wait_for(self, fetch: Any, done: Any, timeout: float = 20.0) -> Any:
        """``fetch()`` again until ``done(result)``: chat commands are handled a moment
        after the chat line is accepted."""
        deadline = time.monotonic() + timeout
        while True:
            result = fetch()
            if done(result):
                return result
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not get there in time: {result!r}")
            time.sleep(0.1)

    def kofi(self, payload: dict[str, Any]) -> None:
        """Deliver one Ko-fi webhook as Ko-fi does (form-encoded ``data=``)."""
        full = {
            "verification_token": KOFI_TOKEN,
            "message_id": payload["kofi_transaction_id"],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "is_public": True,
            "url": "https://ko-fi.com/Home/CoffeeShop?txid=" + payload["kofi_transaction_id"],
            "email": payload["from_name"].lower().replace(" ", ".") + "@example.com",
            "is_subscription_payment": False,
            "is_first_subscription_payment": False,
            "tier_name": None,
            "shipping": None,
            **payload,
        }
        form = urllib.parse.urlencode({"data": json.dumps(full)}).encode()
        request = urllib.request.Request(
            self.base + "/webhooks/kofi",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        urllib.request.urlopen(request, timeout=20).close()

    def fourthwall(self, event: dict[str, Any]) -> None:
        """Deliver one Fourthwall webhook as Fourthwall does (JSON, signed with
        ``X-Fourthwall-Hmac-SHA256``)."""
        from limelight.webhooks import FOURTHWALL_HEADER, fourthwall_signature

        body = json.dumps(event).encode()
        request = urllib.request.Request(
            self.base + "/webhooks/fourthwall",
            data=body,
            headers={
                "Content-Type": "application/json",
                FOURTHWALL_HEADER: fourthwall_signature(FOURTHWALL_SECRET, body),
            },
        )
        urllib.request.urlopen(request, timeout=20).close()

    def upload(self, path: str, field: str, data: bytes) -> Any:
        """A multipart upload of one PNG, as the dashboard's form sends it."""
        boundary = "limelight-screenshots"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="{field}.png"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            self.base + path,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read() or b"null")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            raw = response.read()
        return json.loads(raw) if raw else None


@contextmanager
def running_server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="limelight-shots-") as folder:
        server = Server(Path(folder))
        try:
            server.start()
            yield server
        finally:
            server.stop()


SUPPORTERS = [
    ("Aurora_Borealis", "25.00", "Love the stream, keep it up!"),
    ("pixelpusher", "10.00", "For the new mic"),
    ("Maximilian von Streamington", "50.00", "Long-time listener, first-time tipper"),
    ("kitkat", "5.00", ""),
    ("Jo", "15.00", "gg"),
]
CHAT = [
    ("Aurora_Borealis", "that combo was unreal"),
    ("pixelpusher", "!top"),
    ("kitkat", "hi chat"),
    ("Jo", "what game is next?"),
    ("Maximilian von Streamington", "GG everyone, see you tomorrow"),
    ("nightowl", "first time here, this overlay looks great"),
]


def viewer(name: str) -> dict[str, str]:
    return {"platform": "twitch", "id": name.lower().replace(" ", "-"), "name": name}


def seed(server: Server) -> None:
    """A stream that went live two hours ago with what viewers did since."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=2)

    def at(minutes: float) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    def event(kind: str, sid: str, minutes: float, data: dict[str, Any], who: str = "") -> None:
        post_event(server, kind, sid, data, who, occurred_at=at(minutes))

    event("stream.online", "online-1", 0, {"title": "Cozy building stream"})
    # Chat first: the dashboard lists the newest events first, money on top.
    for n in range(60):
        name, text = CHAT[n % len(CHAT)]
        event("chat.message", f"chat-{n}", 2 + n * 1.9, {"text": text}, name)
    for n, (name, amount, message) in enumerate(SUPPORTERS):
        event(
            "tip",
            f"tip-{n}",
            8 + n * 17,
            {"amount": amount, "currency": "USD", "message": message},
            name,
        )
    event(
        "tip",
        "tip-extra",
        64,
        {"amount": "20.00", "currency": "USD", "message": ""},
        "Aurora_Borealis",
    )
    event(
        "refund",
        "refund-1",
        70,
        {"amount": "5.00", "currency": "USD", "original_source": "demo", "original_id": "tip-3"},
    )
    for n, (name, bits) in enumerate([("nightowl", 500), ("pixelpusher", 100), ("Jo", 1000)]):
        event(
            "cheer", f"cheer-{n}", 20 + n * 25, {"bits": bits, "message": "Cheer" + str(bits)}, name
        )
    for n, name in enumerate(["kitkat", "nightowl", "Jo", "sunny_days"]):
        event("subscription", f"sub-{n}", 15 + n * 22, {"tier": "1000", "months": 1 + n * 3}, name)
    event("raid", "raid-1", 90, {"viewers": 42}, "FriendlyStreamer")


DONORS = [
    ("Grandma", "100.00", "So proud of you!"),
    ("pixelpusher", "25.00", "for the pandas"),
    ("Aurora_Borealis", "50.00", ""),
    ("", "40.00", ""),
    ("Maximilian von Streamington", "150.00", "Matching my company's gift"),
    ("kitkat", "10.00", "pandas!!"),
]
BUYERS = [
    ("kitkat", "hoodie M"),
    ("Jo", "hoodie L"),
    ("nightowl", "hoodie M"),
    ("pixelpusher", "cap"),
]
GUESTS = ["Aurora_Borealis", "Maximilian von Streamington", "sunny_days"]


def post_event(
    server: Server,
    kind: str,
    sid: str,
    data: dict[str, Any],
    who: str = "",
    *,
    source: str = "demo",
    occurred_at: str | None = None,
) -> None:
    """One event through the admin API, as a platform would deliver it."""
    server.api(
        "POST",
        "/api/events",
        {
            "type": kind,
            "source": source,
            "source_id": sid,
            **({"occurred_at": occurred_at} if occurred_at else {}),
            **({"viewer": viewer(who)} if who else {}),
            "data": data,
        },
    )


def chat(server: Server, sid: str, who: str, text: str, source: str = "demo") -> None:
    """A chat line; from ``source`` "console" the bot's answer is said (and shown)."""
    post_event(server, "chat.message", sid, {"text": text}, who, source=source)


def seed_plugins(server: Server, images: dict[str, bytes]) -> None:
    """A fundraiser under way, a merch drop selling (one purchase gifts caps to chat),
    guests queued (the challenges and members fill from the stream itself: config, tips
    and subscriptions above)."""
    for n, (name, amount, message) in enumerate(DONORS):
        server.api(
            "POST",
            "/api/charity/campaigns/pandas/donations",
            {
                "amount": amount,
                "currency": "USD",
                "name": name,
                "message": message,
                "anonymous": not name,
                "key": f"donation-{n}",
            },
        )
    products = [
        {"sku": "hoodie", "name": "Logo hoodie", "price": "45.00", "variants": ["S", "M", "L"]},
        {"sku": "cap", "name": "Night owl cap", "price": "25.00"},
        {"sku": "guest", "name": "Go live with me", "price": "10.00", "kind": "guest"},
    ]
    for product in products:
        made = server.api(
            "POST",
            "/api/shop/products",
            {"currency": "USD", "kofi_code": product["sku"], **product},
        )["product"]
        if product["sku"] in images:
            server.upload(f"/p/shop/products/{made['id']}/image", "image", images[product["sku"]])
    drop = server.api(
        "POST",
        "/api/shop/drops",
        {
            "name": "Friday night drop",
            "per_viewer_limit": 2,
            "items": [
                {"sku": "hoodie", "variant": "S", "stock": 10},
                {"sku": "hoodie", "variant": "M", "stock": 10},
                {"sku": "hoodie", "variant": "L", "stock": 10},
                {"sku": "cap", "variant": "", "stock": 20},
                {"sku": "guest", "variant": "", "stock": 5},
            ],
        },
    )["drop"]
    server.api("POST", f"/api/shop/drops/{drop['id']}/open", {})
    claims = [*BUYERS, *((name, "guest") for name in GUESTS)]
    for n, (name, item) in enumerate(claims):
        chat(server, f"claim-{n}", name, f"!claim {item}")
    reserved = server.wait_for(
        lambda: server.api("GET", "/api/shop/reservations")["reservations"],
        lambda rows: len(rows) >= len(claims),
    )
    for n, reservation in enumerate(sorted(reserved, key=lambda r: r["id"])):
        sku, variant = reservation["sku"], reservation["variant"]
        server.kofi(
            {
                "type": "Shop Order",
                "from_name": reservation["viewer"],
                "message": reservation["code"],
                "amount": next(p["price"] for p in products if p["sku"] == sku),
                "currency": "USD",
                "kofi_transaction_id": f"shop-{n}",
                "shop_items": [{"direct_link_code": sku, "variation_name": variant, "quantity": 1}],
            }
        )
    # Three caps bought on Fourthwall as gifts for chat.
    now = datetime.now(UTC).isoformat()
    server.fourthwall(
        {
            "id": "weve_screenshot_gift",
            "type": "GIFT_PURCHASE",
            "apiVersion": "V1",
            "createdAt": now,
            "testMode": False,
            "data": {
                "id": "giv_screenshot_gift",
                "offer": {"id": "offer-cap", "name": "Night owl cap", "slug": "cap"},
                "amounts": {"total": {"value": 75, "currency": "USD"}},
                "email": "sunny@example.com",
                "quantity": 3,
                "gifts": [],
                "createdAt": now,
                "username": "sunny_days",
                "message": "caps for chat!",
            },
        }
    )


def seed_moderators(server: Server) -> None:
    """One moderator who accepted their invite, and one invite still open."""
    url = server.api("POST", "/api/moderators/invites", {"name": "kitkat", "hours": 168})["url"]
    form = urllib.parse.urlencode({"password": "demo password 1", "password2": "demo password 1"})
    urllib.request.urlopen(url, data=form.encode(), timeout=20).close()
    server.api("POST", "/api/moderators/invites", {"name": "nightowl", "hours": 24})


#: Product pictures, drawn in the browser (no binary files in the repository).
PRODUCT_ART = {
    "hoodie": ("#7c6cff", "#e5534b", "LL"),
    "cap": ("#1f2937", "#4cb3d4", "NO"),
}


async def product_images() -> dict[str, bytes]:
    from playwright.async_api import async_playwright

    images: dict[str, bytes] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or None, args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 256, "height": 256})
        for sku, (start, end, mark) in PRODUCT_ART.items():
            await page.set_content(
                f"<body style='margin:0'><div style='width:256px;height:256px;display:flex;"
                f"align-items:center;justify-content:center;background:linear-gradient(135deg,"
                f"{start},{end});font:800 96px system-ui,sans-serif;color:#fff'>{mark}</div>"
            )
            images[sku] = await page.screenshot(type="png")
        await browser.close()
    return images


async def shoot(server: Server, out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    written: list[Path] = []
    overlays = server.api("GET", "/api/overlays")["overlays"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or None, args=CHROMIUM_ARGS
        )
        try:
            for overlay in overlays:
                written.append(await shoot_overlay(browser, server, overlay, out))
            context = await browser.new_context(
                viewport={"width": DASHBOARD_WIDTH, "height": 800}, color_scheme="dark"
            )
            page = await context.new_page()
            await page.goto(server.base + "/admin/login")
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.wait_for_url(server.base + "/admin/")
            for name, path in PAGES.items():
                written.append(await shoot_page(page, server.base + path, out / f"{name}.png"))
            await page.set_viewport_size({"width": NARROW_WIDTH, "height": 800})
            for name, path in NARROW.items():
                written.append(await shoot_page(page, server.base + path, out / f"{name}.png"))
            await context.close()
        finally:
            await browser.close()
    return written


async def shoot_page(page: Any, url: str, target: Path) -> Path:
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    # Live parts (recent events, chat feed) fill in from the API: give them a moment.
    await page.wait_for_timeout(600)
    await page.screenshot(path=str(target), full_page=True)
    return target


async def live_chat(server: Server, browser: Any) -> None:
    """Chat while the chat box is on screen (it shows what arrives, with the bot's answers)."""
    lines = [
        ("nightowl", "that boss fight was intense"),
        ("Aurora_Borealis", "GG! clean run"),
        ("pixelpusher", "!top"),
        ("kitkat", "can we see the hoodie again?"),
        ("Maximilian von Streamington", "Greetings from Vienna, long day at work"),
        ("Jo", "lol the cat walked across the keyboard"),
        ("sunny_days", "hype hype hype"),
    ]
    for n, (name, text) in enumerate(lines):
        chat(server, f"live-chat-{n}", name, text, source="console")


async def live_room(server: Server, browser: Any) -> None:
    """Two members talk in the members' room (their own pages, their own links)."""
    context = await browser.new_context(viewport={"width": 420, "height": 700})
    for name, text in [
        ("Aurora_Borealis", "Members Q&A tonight?"),
        ("Maximilian von Streamington", "Yes please, I have questions about the build"),
        ("Aurora_Borealis", "the new emotes are so good"),
    ]:
        member = server.api("POST", "/api/room/members/link", {"viewer": viewer(name)})["member"]
        page = await context.new_page()
        await page.goto(member["link"])
        await page.wait_for_function("() => !document.getElementById('room-input').disabled")
        await page.fill("#room-input", text)
        await page.click("#room-send")
        await page.wait_for_timeout(200)
    LIVE_CONTEXTS.append(context)


async def live_donation(server: Server, browser: Any) -> None:
    """A donation while the fundraiser is on screen: its alert covers the card for a
    while, then the bar, the total and the latest donors show it. The seed's donations
    are queued as alerts for a page that opens; they are cleared first, as the streamer's
    Clear button does (playing them all took ~45 s of every run)."""
    server.api("POST", "/api/overlays/charity/clear", {})
    server.api(
        "POST",
        "/api/charity/campaigns/pandas/donations",
        {
            "amount": "20.00",
            "currency": "USD",
            "name": "nightowl",
            "message": "Go pandas!",
            "key": "donation-live",
        },
    )


#: What happens on stream while an overlay is shot (instead of a test alert).
LIVE = {"chat": live_chat, "room": live_room, "charity": live_donation}
LIVE_CONTEXTS: list[Any] = []
#: Milliseconds to let an overlay settle before its picture; the goal's "Halfway there!"
#: celebration (it replays when the page opens) plays out first.
SETTLE_MS = {"goal": 9000}
#: Overlays shot once their alerts have played (the charity card, which a donation's
#: alert covers while it plays).
AFTER_ALERTS = {"charity"}


async def alerts_played(page: Any, quiet_ms: int = 2500, limit_s: float = 90.0) -> None:
    """Wait until no alert has shown for ``quiet_ms`` (the queue is empty)."""
    deadline = time.monotonic() + limit_s
    quiet = 0
    while quiet < quiet_ms and time.monotonic() < deadline:
        await page.wait_for_timeout(250)
        showing = await page.evaluate("!!document.querySelector('#alert-stage.show')")
        quiet = 0 if showing else quiet + 250


async def shoot_overlay(browser: Any, server: Server, overlay: dict[str, Any], out: Path) -> Path:
    """The overlay at its declared size, on a dark stand-in for the game behind it."""
    context = await browser.new_context(
        viewport={"width": overlay["width"], "height": overlay["height"]},
        bypass_csp=True,  # only for the backdrop below; the page itself is untouched
    )
    page = await context.new_page()
    await page.goto(overlay["url"])
    await page.wait_for_load_state("networkidle")
    kinds = overlay.get("alert_kinds") or []
    action = LIVE.get(overlay["name"])
    if action is not None:
        await action(server, browser)
    elif kinds:
        kind = "tip" if "tip" in kinds else kinds[0]
        server.api("POST", f"/api/overlays/{overlay['name']}/test", {"kind": kind})
    # Alerts animate in; boards and the chat fill in from the server.
    await page.wait_for_timeout(SETTLE_MS.get(overlay["name"], 1500))
    if overlay["name"] in AFTER_ALERTS:
        await alerts_played(page)
    target = out / f"overlay-{overlay['name']}.png"
    # Overlays are transparent: put the dark backdrop OBS would show behind the picture.
    await page.add_style_tag(content="html { background: #23262f !important; }")
    await page.screenshot(path=str(target))
    await context.close()
    while LIVE_CONTEXTS:
        await LIVE_CONTEXTS.pop().close()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with running_server() as server:
        seed(server)
        seed_plugins(server, asyncio.run(product_images()))
        seed_moderators(server)
        written = asyncio.run(shoot(server, out))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
