"""The overlays in a real browser: headless Chromium (Debian ``chromium``) via Playwright.

One browser serves the whole module; each test gets a fresh browser context (its own
localStorage) and a fresh Limelight server. Every page is watched for dialogs, console
messages, page errors and requests; any request that would leave the server is blocked
and recorded, so the XSS test can prove that nothing phones home.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from limelight import ChatMessage, Verdict, ViewerRef
from limelight.testing import OVERLAY_TOKEN, make_settings, start_harness
from limelight_alerts import AlertsPlugin

from ..support import chromium_path, need, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "overlays"
#: The issue's promise: an alert posted to /api/events is on screen within a second.
ALERT_WAIT_MS = 1000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FAST_THEME = {"alert_gap": "10ms", "alert_in": "0ms", "alert_out": "0ms"}


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
    h = await start_harness(settings, {"alerts": AlertsPlugin})
    try:
        yield h
    finally:
        await h.close()


@dataclass
class Watched:
    """A page plus everything it did that a test may want to assert on."""

    page: Any
    origin: str
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    async def shown(self) -> list[int]:
        return await self.page.evaluate("window.Limelight.shown.slice()")

    async def wait_connected(self) -> None:
        await self.page.wait_for_function(
            "() => window.Limelight && window.Limelight.connected", timeout=10_000
        )


@pytest_asyncio.fixture(loop_scope="module")
async def open_page(browser: Any, server: Any) -> AsyncIterator[Any]:
    contexts: list[Any] = []
    origin = server.url("/").rstrip("/")

    async def opener(
        path: str, *, width: int = 1280, height: int = 720, context: Any = None
    ) -> Watched:
        if context is None:
            context = await browser.new_context(viewport={"width": width, "height": height})
            contexts.append(context)
        page = await context.new_page()
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
        page.on("websocket", lambda ws: watched.requests.append(ws.url))
        if path:
            await page.goto(server.url(path))
        return watched

    yield opener
    for context in contexts:
        await context.close()


def _same_origin(url: str, origin: str) -> bool:
    if url.startswith(("data:", "about:")):
        return True
    parts, base = urlsplit(url), urlsplit(origin)
    return parts.scheme in ("http", "ws") and parts.netloc == base.netloc


def overlay(name: str, **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"/overlays/{name}?token={OVERLAY_TOKEN}{extra}"


async def push(h: Any, n: int, *, duration_ms: int = 150, prefix: str = "burst") -> int:
    response = await h.client.post(
        "/api/overlays/alerts/alerts",
        headers=h.admin_headers,
        json={
            "kind": "raid",
            "duration_ms": duration_ms,
            "data": {"name": f"{prefix}-{n}", "viewers": n},
        },
    )
    assert response.status == 201
    return (await response.json())["id"]


async def _pending_is(overlays: Any, count: int) -> bool:
    return await overlays.pending("alerts") == count


# -- tests ------------------------------------------------------------------------------------


async def test_page_refuses_without_the_token(open_page: Any, server: Any) -> None:
    w = await open_page("")
    missing = await w.page.goto(server.url("/overlays/alerts"))
    assert missing.status == 401
    wrong = await w.page.goto(server.url("/overlays/alerts?token=wrong"))
    assert wrong.status == 403
    assert await w.page.evaluate("typeof window.Limelight") == "undefined"
    assert not any("/overlays/ws" in r for r in w.requests)
    ok = await w.page.goto(server.url(overlay("alerts")))
    assert ok.status == 200
    await w.wait_connected()


async def test_alert_from_api_events_appears_at_once(open_page: Any, server: Any) -> None:
    w = await open_page(overlay("alerts"))
    await w.wait_connected()
    status, _ = await server.post_event(
        {
            "type": "cheer",
            "source": "twitch",
            "source_id": "cheer-1",
            "viewer": {"platform": "twitch", "id": "42", "name": "Bob"},
            "data": {"bits": 100, "message": "Take my bits"},
        },
        settle=False,
    )
    assert status == 201
    stage = w.page.locator("#alert-stage.show")
    await stage.wait_for(state="visible", timeout=ALERT_WAIT_MS)
    assert await stage.locator(".alert-title").text_content() == "Bob cheered 100 bits!"
    assert await stage.locator(".alert-message").text_content() == "Take my bits"
    assert w.errors == [] and w.blocked == []


async def test_donation_alert_shows_the_formatted_amount(open_page: Any, server: Any) -> None:
    """The alerts plugin's page, from the plugin's templates on the core base page, shows
    an amount as the one money formatter writes it."""
    w = await open_page(overlay("alerts"))
    await w.wait_connected()
    status, _ = await server.post_event(
        {
            "type": "donation",
            "source": "api",
            "source_id": "donation-250",
            "viewer": {"platform": "twitch", "id": "7", "name": "Dee"},
            "data": {"amount": "250.00", "currency": "USD", "message": "For the owls"},
        },
        settle=False,
    )
    assert status == 201
    stage = w.page.locator("#alert-stage.show")
    await stage.wait_for(state="visible", timeout=ALERT_WAIT_MS)
    assert await stage.locator(".alert-title").text_content() == "Dee donated $250.00!"
    assert await stage.get_attribute("data-kind") == "donation"
    assert w.errors == [] and w.blocked == []


async def test_cut_in_a_burst_of_20_shows_each_once_in_order(open_page: Any, server: Any) -> None:
    w = await open_page(overlay("alerts"))
    await w.wait_connected()
    overlays = server.services.overlays
    ids: list[int] = []
    for i in range(10):
        ids.append(await push(server, i))
    await w.page.wait_for_function("() => window.Limelight.shown.length >= 1", timeout=10_000)
    channel = overlays.channel("alerts")
    # Cut the line while alerts are playing and more are queued in the page.
    assert await overlays.disconnect_all("alerts") == 1
    for i in range(10, 15):
        ids.append(await push(server, i))  # sent while the page is away
    # The server's own count, not the page's flag: the page may not have noticed the cut.
    await wait_until(lambda: channel.connects >= 2 and len(channel.clients) == 1, timeout=15)
    assert await overlays.disconnect_all("alerts") == 1
    for i in range(15, 20):
        ids.append(await push(server, i))
    await w.page.wait_for_function("() => window.Limelight.shown.length >= 20", timeout=30_000)
    assert await w.shown() == ids
    assert channel.connects >= 3
    # Every alert was acknowledged: none waits for a page any more.
    await wait_until(lambda: _pending_is(overlays, 0))


async def test_reload_replays_nothing_already_shown(open_page: Any, server: Any) -> None:
    w = await open_page(overlay("alerts"))
    await w.wait_connected()
    first = [await push(server, i) for i in range(3)]
    await w.page.wait_for_function("() => window.Limelight.shown.length >= 3", timeout=10_000)
    assert await w.shown() == first
    since = await w.page.evaluate("localStorage.getItem('limelight:alerts:last')")
    assert since == str(first[-1])
    await w.page.reload()
    await w.wait_connected()
    assert await w.page.evaluate("window.Limelight.queueLength()") == 0
    later = await push(server, 99)
    await w.page.wait_for_function("() => window.Limelight.shown.length >= 1", timeout=10_000)
    assert await w.shown() == [later]
    ws_urls = [r for r in w.requests if "/overlays/ws" in r]
    assert f"since={first[-1]}" in ws_urls[-1]


async def test_a_reset_server_history_does_not_strand_the_page(browser: Any, server: Any) -> None:
    """A page that remembers ids from an older database starts afresh instead of dropping
    the new alerts whose ids it believes it already showed."""
    context = await browser.new_context()
    try:
        await context.add_init_script(
            "localStorage.setItem('limelight:alerts:last', '999');"
            "localStorage.setItem('limelight:alerts:shown', '[1, 2, 3, 999]');"
        )
        page = await context.new_page()
        await page.goto(server.url(overlay("alerts")))
        await page.wait_for_function("() => window.Limelight.connected")
        first = await push(server, 1)
        await page.wait_for_function(f"() => window.Limelight.shown[0] === {first}")
        assert first <= 3
    finally:
        await context.close()


async def test_pause_and_skip_from_the_api(open_page: Any, server: Any) -> None:
    w = await open_page(overlay("alerts"))
    await w.wait_connected()
    await server.client.post("/api/overlays/alerts/pause", headers=server.admin_headers)
    await w.page.wait_for_function("() => window.Limelight.paused === true")
    held = await push(server, 1, duration_ms=60_000)
    await w.page.wait_for_function("() => window.Limelight.queueLength() === 1")
    assert await w.shown() == []
    await server.client.post("/api/overlays/alerts/resume", headers=server.admin_headers)
    await w.page.wait_for_function(f"() => window.Limelight.shown[0] === {held}")
    await server.client.post("/api/overlays/alerts/skip", headers=server.admin_headers)
    await w.page.locator("#alert-stage.show").wait_for(state="detached", timeout=5000)


async def test_dashboard_buttons_drive_the_overlay(open_page: Any, server: Any) -> None:
    from limelight.testing import ADMIN_TOKEN

    w = await open_page(overlay("alerts"))
    await w.wait_connected()
    admin = await open_page("/admin/login")
    await admin.page.fill("input[name=token]", ADMIN_TOKEN)
    await admin.page.click("button[type=submit]")
    await admin.page.goto(server.url("/admin/overlays"))
    row = admin.page.locator('section[data-overlay="alerts"]')
    await row.locator("select[data-field=kind]").select_option("raid")
    await row.locator('button[data-action="test"]').click()
    await w.page.locator("#alert-stage.show.is-test").wait_for(state="visible", timeout=5000)
    assert await w.page.locator(".alert-title").text_content() == (
        "Test Viewer is raiding with 42 viewers!"
    )
    await row.locator('button[data-action="pause"]').click()
    await w.page.wait_for_function("() => window.Limelight.paused === true")
    await admin.page.wait_for_function(
        "() => document.querySelector('section[data-overlay=alerts] [data-field=paused]')"
        ".textContent === 'paused'"
    )
    feedback = await admin.page.locator("#overlay-feedback").text_content()
    assert feedback == "alerts: paused."
    assert admin.errors == [] and admin.blocked == [] and w.errors == []


# -- XSS -------------------------------------------------------------------------------------

CANARY = "window.__pwned"
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=window.__pwned=1>",
    '<img src="https://evil.example/a.png">',
    "<svg onload=window.__pwned=1>",
    "<svg><script>window.__pwned=1</script></svg>",
    '<iframe src="javascript:window.__pwned=1"></iframe>',
    "javascript:window.__pwned=1",
    '<a href="javascript:alert(1)">click</a>',
    "<body onload=alert(1)>",
    '"><script>alert(document.cookie)</script>',
    "'><img src=x onerror=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "<style>@import 'https://evil.example/x.css';</style>",
    "</style><style>body{background:url(https://evil.example/bg.png)}</style>",
    '<div style="background:url(https://evil.example/div.png)">x</div>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<form action="https://evil.example/"><button>go</button></form>',
    "{{7*7}} ${7*7} <%= 7*7 %> {name.__class__}",
    "\u202egnp.exe\u202c RTL override",
    "\u200f\u202b\u202d\u2066mixed\u2069 direction",
    "A" * 5000,
    "\U0001f600" * 300,
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<img srcset="https://evil.example/s.png 1x">',
    "<marquee onstart=alert(1)>x</marquee>",
    "data:text/html,<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt; &amp; entities",
]


async def test_xss_corpus_runs_nothing_and_requests_nothing(open_page: Any, server: Any) -> None:
    assert len(PAYLOADS) >= 30
    # Tall enough for every line: the chat box drops the oldest lines that do not fit.
    chat = await open_page(overlay("chat", limit="100"), height=12_000)
    alerts = await open_page(overlay("alerts"))
    board = await open_page(overlay("leaderboard", limit="50"))
    goal = await open_page(overlay("goal"))
    ticker = await open_page(overlay("ticker"))
    pages = [chat, alerts, board, goal, ticker]
    for w in pages:
        await w.wait_connected()
    overlays = server.services.overlays
    for i, payload in enumerate(PAYLOADS):
        viewer = ViewerRef("twitch", f"x{i}", payload)
        # Emote and badge pictures only ever come from this server (or [overlays]
        # image_hosts): hostile ones stay text.
        message = ChatMessage(
            source="xss",
            source_id=f"xss-{i}",
            viewer=viewer,
            text=payload,
            color=payload,
            badges=(f"{payload}/1", "moderator/1"),
            badge_images=(payload, "javascript:alert(1)"),
            emotes=(f"0-{min(3, len(payload) - 1)}:{payload}",),
            verdict=Verdict.allow(),
        )
        await server.services.bus.publish(message)
        await server.client.post(
            "/api/overlays/alerts/alerts",
            headers=server.admin_headers,
            json={
                "kind": "cheer",
                "duration_ms": 60,
                "data": {
                    "name": payload,
                    "bits": 1,
                    "message": payload,
                    "message_fragments": [
                        {"emote": payload, "url": payload},
                        {"emote": payload, "url": "//evil.example/e.png"},
                        {"text": payload},
                    ],
                },
            },
        )
    await overlays.set_state(
        "leaderboard",
        "stream",
        {"title": PAYLOADS[0], "entries": [{"name": p, "value": p} for p in PAYLOADS]},
    )
    await overlays.set_state(
        "goal",
        "g",
        {
            "title": PAYLOADS[1],
            "label": PAYLOADS[2],
            "current": 1,
            "target": 2,
            "milestones": [{"at": 1, "label": p} for p in PAYLOADS[:5]],
        },
    )
    await overlays.set_state(
        "ticker",
        "t",
        {"title": PAYLOADS[3], "text": PAYLOADS[4], "ends_at": PAYLOADS[5], "stock": 1},
    )
    await chat.page.wait_for_function(
        f"() => document.querySelectorAll('#chat-lines li').length === {len(PAYLOADS)}",
        timeout=10_000,
    )
    await alerts.page.wait_for_function(
        f"() => window.Limelight.shown.length >= {len(PAYLOADS)}", timeout=30_000
    )
    await board.page.wait_for_function(
        f"() => document.querySelectorAll('.board li').length === {len(PAYLOADS)}"
    )
    await goal.page.wait_for_function("() => !document.getElementById('goal').hidden")
    await ticker.page.wait_for_function("() => !document.getElementById('ticker').hidden")

    # Viewer text arrived as text, byte for byte.
    texts = await chat.page.eval_on_selector_all(
        "#chat-lines .text", "els => els.map(e => e.textContent)"
    )
    assert texts == PAYLOADS
    labels = await chat.page.eval_on_selector_all(
        "#chat-lines .badge-label", "els => els.map(e => e.textContent)"
    )
    assert labels.count("Mod") == len(PAYLOADS)
    names = await board.page.eval_on_selector_all(
        ".board .name", "els => els.map(e => e.textContent)"
    )
    assert names == PAYLOADS
    for w in pages:
        assert await w.page.evaluate(CANARY) is None
        assert (
            await w.page.evaluate(
                "document.querySelectorAll("
                "'script:not([src]), iframe, object, embed, svg, img"
                ":not(.alert-image), style, base, meta[http-equiv],"
                " form').length"
            )
            == 0
        )
        assert w.dialogs == []
        assert w.errors == []
        assert [c for c in w.console if "Refused" in c or "error" in c.lower()] == []
        assert w.blocked == [], w.blocked
        assert all(_same_origin(r, w.origin) for r in w.requests)


async def test_the_watchers_would_catch_a_dialog_and_a_foreign_request(open_page: Any) -> None:
    """The XSS test's listeners are live: a dialog, a CSP refusal and a request that would
    leave the server are each recorded."""
    w = await open_page(overlay("chat"))
    await w.wait_connected()
    await w.page.evaluate("() => alert('canary')")
    await w.page.evaluate("() => fetch('https://evil.example/x').catch(() => null)")
    await wait_until(
        lambda: w.dialogs == ["canary"] and any("Refused to connect" in c for c in w.console)
    )
    with pytest.raises(Exception, match=r"ERR_FAILED|aborted"):
        await w.page.goto("https://evil.example/page")
    assert w.blocked == ["https://evil.example/page"]


# -- screenshots ------------------------------------------------------------------------------


def _sizes(server: Any) -> dict[str, tuple[int, int]]:
    return {o.name: (o.width, o.height) for o in server.services.overlays.specs()}


async def test_render_each_default_overlay_to_png(open_page: Any, server: Any) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    sizes = _sizes(server)
    overlays = server.services.overlays
    shots = {}
    for name, (width, height) in sizes.items():
        shots[name] = await open_page(overlay(name), width=width, height=height)
        await shots[name].wait_connected()
        # The empty state, until a plugin supplies data.
        await shots[name].page.screenshot(path=str(OUTPUT / f"{name}-empty.png"))

    server.services.badges.registry.add("test", _badge())
    vip = ViewerRef("twitch", "v1", "VeryImportant")
    server.services.badges.award(vip, "vip")
    await overlays.set_state("chat", "mode", {"restricted": True, "label": "Subscribers only"})
    await overlays.set_state(
        "leaderboard",
        "stream",
        {
            "title": "Top supporters this stream",
            "entries": [
                {"name": "Alice", "value": "$50.00"},
                {"name": "Bob", "value": "$20.00"},
                {"name": "Carol", "value": "$12.50"},
            ],
        },
    )
    await overlays.set_state(
        "leaderboard",
        "all_time",
        {
            "title": "All time",
            "order": 1,
            "entries": [
                {"name": "Dave", "value": "$1,250.00"},
                {"name": "Alice", "value": "$900.00"},
            ],
        },
    )
    await overlays.set_state(
        "goal",
        "charity",
        {
            "title": "Charity drive: Save the Owls",
            "current": 62_500,
            "target": 100_000,
            "label": "$625.00 of $1,000.00",
            "milestones": [
                {"at": 25_000, "label": "Owl song"},
                {"at": 50_000, "label": "Face paint"},
                {"at": 75_000, "label": "Ice bath"},
            ],
        },
    )
    ends = (datetime.now(UTC) + timedelta(minutes=14, seconds=30)).isoformat()
    await overlays.set_state(
        "ticker",
        "drop",
        {
            "title": "Limited hoodie drop",
            "text": "Use !merch to order",
            "ends_at": ends,
            "stock": 37,
            "total": 100,
        },
    )
    await shots["leaderboard"].page.wait_for_function(
        "() => document.querySelectorAll('.board').length === 2"
    )
    await shots["goal"].page.wait_for_function("() => !document.getElementById('goal').hidden")

    lines = [
        (vip, "First time here, love the stream!"),
        (ViewerRef("twitch", "v2", "Chatty"), "PogChamp that was close"),
        (ViewerRef("youtube", "v3", "Tuber"), "hello from YouTube"),
    ]
    for i, (who, text) in enumerate(lines):
        await server.services.bus.publish(
            ChatMessage(
                source="shot", source_id=f"shot-{i}", viewer=who, text=text, color="#4fc3f7"
            )
        )
    await overlays.alert(
        "alerts",
        kind="tip",
        duration_ms=60_000,
        data={
            "name": "Alice",
            "amount": "25.00",
            "currency": "USD",
            "message": "Keep up the great work!",
        },
    )
    await shots["chat"].page.wait_for_function(
        "() => document.querySelectorAll('#chat-lines li').length === 3"
    )
    await shots["alerts"].page.locator("#alert-stage.show").wait_for(state="visible")
    await shots["ticker"].page.wait_for_function(
        "() => document.querySelector('.ticker-countdown').textContent !== ''"
    )
    for name, w in shots.items():
        await w.page.screenshot(path=str(OUTPUT / f"{name}.png"))
        assert (OUTPUT / f"{name}.png").stat().st_size > 0
        assert w.errors == [] and w.blocked == []
    badge = await shots["chat"].page.locator("#chat-lines li .badge").first.text_content()
    assert badge == "\U0001f48e"
    assert re.match(
        r"^1[34]:\d\d$", await shots["ticker"].page.locator(".ticker-countdown").text_content()
    )


def _badge() -> Any:
    from limelight import Badge

    return Badge("vip", "VIP", "\U0001f48e")
