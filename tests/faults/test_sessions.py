"""Dashboard sessions under attack: CSRF from a same-site page in real Chromium, copied and
fixed cookies, expiry, the Secure flag, login guessing.

The CSRF scene is the one the review found: the streamer is logged in to the dashboard at
``http://127.0.0.1:<port>``; a page served from *another port* of the same host (same site,
so the browser attaches the ``SameSite=Strict`` cookie) tries to refund a tip, make the bot
talk, pause the alerts overlay, flip the TTS kill switch, type in the console and log the
streamer out, through every way a page can send a request without reading the answer:
``fetch`` in ``no-cors`` mode with text, form, multipart and empty bodies, ``fetch`` with
JSON or a made-up token (which needs a CORS preflight), ``sendBeacon``, and auto-submitting
HTML forms (form-encoded, a ``text/plain`` form shaped as JSON, a made-up ``csrf_token``).
Nothing may change; the dashboard's own buttons, clicked for real, must still work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from limelight.models import DashboardSession
from limelight.testing import ADMIN_TOKEN, Harness, make_tip
from limelight.web.throttle import THROTTLE, LoginThrottle
from limelight_alerts import AlertsPlugin
from limelight_console import ConsolePlugin
from limelight_tips import TipsPlugin

from tests.support import chromium_path, need, wait_until

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PWNED = "CSRF-PWNED"
PLUGINS = {"tips": TipsPlugin, "alerts": AlertsPlugin, "console": ConsolePlugin}
CONFIG = {"plugins": {"tips": {"tts": True, "thanks_window": 0}}}

# What the attacker page can do. Each takes (url, JSON body) and resolves when the browser
# is done with the request (or refused to send it).
ATTACKER_JS = """
function fields(body) {
  const out = {};
  for (const [k, v] of Object.entries(body)) out[k] = String(v);
  return out;
}
async function attack(url, vector, body) {
  const json = JSON.stringify(body);
  const base = { method: "POST", credentials: "include" };
  try {
    if (vector === "fetch no-cors text/plain") {
      await fetch(url, { ...base, mode: "no-cors",
        headers: { "Content-Type": "text/plain" }, body: json });
    } else if (vector === "fetch no-cors form") {
      await fetch(url, { ...base, mode: "no-cors", body: new URLSearchParams(fields(body)) });
    } else if (vector === "fetch no-cors multipart") {
      const data = new FormData();
      for (const [k, v] of Object.entries(fields(body))) data.append(k, v);
      await fetch(url, { ...base, mode: "no-cors", body: data });
    } else if (vector === "fetch no-cors empty body") {
      await fetch(url, { ...base, mode: "no-cors" });
    } else if (vector === "fetch cors JSON") {
      await fetch(url, { ...base, mode: "cors",
        headers: { "Content-Type": "application/json" }, body: json });
    } else if (vector === "fetch cors made-up token") {
      await fetch(url, { ...base, mode: "cors", headers: {
        "Content-Type": "application/json", "X-CSRF-Token": "0".repeat(64) }, body: json });
    } else if (vector === "sendBeacon") {
      if (!navigator.sendBeacon(url, new Blob([json], { type: "text/plain" }))) {
        return "not queued";
      }
    } else {
      return "unknown vector " + vector;
    }
    return "sent";
  } catch (err) {
    return "blocked: " + err.message;
  }
}
async function readToken(url) {
  try {
    const response = await fetch(url, { credentials: "include", mode: "cors" });
    return await response.text();
  } catch (err) {
    return "blocked: " + err.message;
  }
}
"""
FETCH_VECTORS = (
    "fetch no-cors text/plain",
    "fetch no-cors form",
    "fetch no-cors multipart",
    "fetch no-cors empty body",
    "fetch cors JSON",
    "fetch cors made-up token",
    "sendBeacon",
)
FORM_VECTORS = ("form urlencoded", "form text/plain as JSON", "form made-up csrf_token")


def form_page(target: str, vector: str, body: dict[str, Any]) -> str:
    """An attacker page whose form posts itself to ``target`` as soon as it loads."""
    if vector == "form text/plain as JSON":
        # name + "=" + value reads as one JSON object: {"...": ..., "pad": "="}
        name = json.dumps(body)[:-1] + (', "pad": "' if body else '"pad": "')
        inputs = f"<input name='{name}' value='\"}}'>"
        enctype = "text/plain"
    else:
        values = {k: str(v) for k, v in body.items()}
        if vector == "form made-up csrf_token":
            values["csrf_token"] = "0" * 64
        inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in values.items())
        enctype = "application/x-www-form-urlencoded"
    return (
        f"<!doctype html><form method='post' action='{target}' enctype='{enctype}'>{inputs}"
        "</form><script>document.forms[0].submit()</script>"
    )


async def attacker_server() -> tuple[web.AppRunner, str]:
    """Another port on 127.0.0.1: same site as the dashboard, another origin."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<!doctype html><title>cat pictures</title><script>{ATTACKER_JS}</script>",
            content_type="text/html",
        )

    async def form(request: web.Request) -> web.Response:
        body = json.loads(request.query["body"])
        html = form_page(request.query["target"], request.query["vector"], body)
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/form", form)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None and server.sockets
    port = server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def state(h: Harness) -> dict[str, Any]:
    """Everything the attacks aim at, read with the Bearer token."""
    headers = h.admin_headers
    entries = await (await h.client.get("/api/tips/entries", headers=headers)).json()
    overlay = await (await h.client.get("/api/overlays/alerts", headers=headers)).json()
    tts = await (await h.client.get("/api/tips/tts", headers=headers)).json()
    feed = await (await h.client.get("/api/chat/feed?since=0", headers=headers)).json()
    return {
        "refunds": [e for e in entries["entries"] if e["kind"] == "refund"],
        "paused": overlay["paused"],
        "tts killed": tts["killed"],
        "bot said": [s.text for s in h.said if PWNED in s.text],
        "console": [line for line in feed["lines"] if PWNED in line.get("text", "")],
    }


@pytest.mark.browser
async def test_a_same_site_page_cannot_act_with_the_streamers_session(
    limelight, browser, capsys, caplog
) -> None:
    h = await limelight(plugins=PLUGINS, config=CONFIG)
    await h.publish(make_tip("20.00", "USD", viewer="generous", message="for the stream"))
    tip_id = (await (await h.client.get("/api/tips/entries", headers=h.admin_headers)).json())[
        "entries"
    ][0]["id"]
    before = await state(h)
    assert before == {
        "refunds": [],
        "paused": False,
        "tts killed": False,
        "bot said": [],
        "console": [],
    }
    victim = h.url("/").rstrip("/")
    targets = {
        "refund a tip": (f"/api/tips/entries/{tip_id}/refund", {"amount": "", "reason": "x"}),
        "make the bot say a line": ("/api/chat/say", {"text": PWNED}),
        "pause the alerts overlay": ("/api/overlays/alerts/pause", {}),
        "flip the TTS kill switch": ("/api/tips/tts", {"killed": True}),
        "type in the console": ("/api/console/messages", {"viewer": "mallory", "text": PWNED}),
        "log the streamer out": ("/admin/logout", {}),
    }
    runner, evil = await attacker_server()
    context = await browser.new_context()
    try:
        # The streamer logs in through the real form.
        dashboard = await context.new_page()
        await dashboard.goto(victim + "/admin/login")
        await dashboard.fill("input[name=token]", ADMIN_TOKEN)
        await dashboard.click("button[type=submit]")
        await dashboard.wait_for_url(victim + "/admin/")

        attacker = await context.new_page()
        await attacker.goto(evil + "/")
        token_read = await attacker.evaluate("(u) => readToken(u)", victim + "/admin/")
        assert token_read.startswith("blocked"), "the attacker page read the dashboard"

        outcomes: dict[tuple[str, str], str] = {}
        for target, (path, body) in targets.items():
            for vector in FETCH_VECTORS:
                outcomes[(target, vector)] = await attacker.evaluate(
                    "([u, v, b]) => attack(u, v, b)", [victim + path, vector, body]
                )
            for vector in FORM_VECTORS:
                query = (
                    f"target={quote(victim + path)}&vector={quote(vector)}"
                    f"&body={quote(json.dumps(body))}"
                )
                await attacker.goto(f"{evil}/form?{query}", wait_until="commit")
                # The form leaves for the dashboard's server (where it may be redirected).
                await attacker.wait_for_url(lambda url: url.startswith(victim), wait_until="load")
                outcomes[(target, vector)] = "navigated"
                await attacker.goto(evil + "/")
        # Each request that reached the server with the streamer's session is refused and
        # logged; beacons are sent in the background, so wait for theirs too.
        sent = [k for k, v in outcomes.items() if v in ("sent", "navigated")]
        blocked = [k for k, v in outcomes.items() if k not in sent]

        def refusals() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if r.name == "limelight.web" and "with the dashboard session" in r.getMessage()
            ]

        with contextlib.suppress(TimeoutError):  # the assertions below say what is missing
            await wait_until(lambda: len(refusals()) >= len(sent), timeout=10)
        await h.settle()
        after = await state(h)
        with capsys.disabled():
            print(
                f"\nCSRF from {evil} (same site as {victim}): {len(outcomes)} attacks "
                f"({len(targets)} targets x {len(FETCH_VECTORS) + len(FORM_VECTORS)} ways); "
                f"{len(sent)} sent by the browser, {len(refusals())} reached the server with "
                f"the session cookie and were refused; {len(blocked)} blocked by the browser "
                f"(CORS preflight); targets changed: {sum(after[k] != before[k] for k in before)}"
            )
        # Blocked only where a page may not send such a request at all.
        assert {v for v in FETCH_VECTORS if v.startswith("fetch cors")} == {v for _, v in blocked}
        assert after == before, after
        # The attacks were real (the browser attached the streamer's live session to every
        # one it sent), and each was refused by the CSRF check.
        assert len(refusals()) == len(sent)
        assert all("CSRF check failed" in m for m in refusals())

        # The streamer is still logged in, and the dashboard's own buttons work.
        await dashboard.goto(victim + "/admin/overlays")
        assert dashboard.url == victim + "/admin/overlays"
        row = dashboard.locator('[data-overlay="alerts"]')
        await row.locator('button[data-action="pause"]').click()
        await dashboard.wait_for_function(
            "() => document.querySelector('[data-overlay=alerts] [data-field=paused]')"
            ".textContent === 'paused'"
        )
        await dashboard.goto(victim + "/p/tips/")
        await dashboard.click("#tips-tts-kill")
        await dashboard.wait_for_function(
            "() => document.getElementById('tips-tts-state').textContent.startsWith('stopped')"
        )
        clicked = await state(h)
        assert clicked["paused"] is True and clicked["tts killed"] is True

        # Logging out with the real button ends the session on the server: a copy of the
        # cookie taken before opens nothing afterwards.
        copied = {c["name"]: c["value"] for c in await context.cookies(victim)}
        await dashboard.goto(victim + "/admin/")
        await dashboard.click("form.logout button")
        await dashboard.wait_for_url(victim + "/admin/login")
        h.client.session.cookie_jar.update_cookies(copied, h.client.make_url("/"))
        assert (await h.client.get("/api/events")).status == 401
        assert (await h.client.get("/admin/", allow_redirects=False)).status == 302
    finally:
        await context.close()
        await runner.cleanup()


# -- sessions over HTTP -------------------------------------------------------------------


def cookie_of(h: Harness) -> str:
    jar = h.client.session.cookie_jar.filter_cookies(h.client.make_url("/"))
    return jar["limelight_session"].value


def use_cookie(h: Harness, value: str) -> None:
    h.client.session.cookie_jar.clear()
    h.client.session.cookie_jar.update_cookies({"limelight_session": value}, h.client.make_url("/"))


async def test_logins_rotate_the_id_and_old_fixed_or_expired_ids_open_nothing(
    limelight, database_url, capsys
) -> None:
    h = await limelight(database_url=database_url)
    tried = refused = 0

    async def refused_with(value: str) -> bool:
        nonlocal tried, refused
        use_cookie(h, value)
        tried += 1
        ok = (await h.client.get("/api/events")).status == 401 and (
            await h.client.get("/admin/", allow_redirects=False)
        ).status == 302
        refused += ok
        return ok

    # A session id planted before login (fixation) is never promoted to a session.
    planted = "A" * 43
    use_cookie(h, planted)
    await h.login()
    first = cookie_of(h)
    assert first != planted
    assert await refused_with(planted)

    use_cookie(h, first)
    await h.login()
    second = cookie_of(h)
    assert second != first
    assert await refused_with(first)  # the login before this one ended

    use_cookie(h, second)
    assert (await h.client.get("/api/events")).status == 200
    # Expired on the server (as after [security] session_hours): refused, and removed.
    await DashboardSession.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await refused_with(second)
    assert await DashboardSession.all().count() == 0

    for value in ("", "x", "A" * 42, "A" * 44, "../../etc/passwd", "'; DROP TABLE x; --"):
        assert await refused_with(value), value
    with capsys.disabled():
        print(
            f"\nsession ids replayed on {h.services.db.backend} (planted, rotated out, "
            f"expired, malformed): {tried} tried, {tried - refused} accepted"
        )


async def test_the_cookie_is_secure_when_public_url_is_https(limelight) -> None:
    for public_url, secure in (("https://live.example.org", True), ("", False)):
        h = await limelight(config={"server": {"public_url": public_url}})
        ok = await h.client.post("/admin/login", data={"token": ADMIN_TOKEN}, allow_redirects=False)
        cookie = ok.cookies["limelight_session"]
        assert bool(cookie["secure"]) is secure, public_url
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        assert int(cookie["max-age"]) == 12 * 3600
        await h.close()


async def test_wrong_logins_are_refused_for_a_growing_while(limelight, capsys) -> None:
    h = await limelight(config={"security": {"admin_password": "correct horse"}})
    now = [1000.0]
    h.app[THROTTLE].clock = lambda: now[0]

    async def login(secret: str) -> Any:
        return await h.client.post("/admin/login", data={"token": secret}, allow_redirects=False)

    answers: list[int] = []
    for _ in range(5):
        answers.append((await login("guess")).status)
    assert answers == [403] * 5
    locked = await login("correct horse")  # even the right password waits
    assert locked.status == 429 and locked.headers["Retry-After"] == "60"
    assert "Too many wrong logins" in await locked.text()
    assert "frame-ancestors 'none'" in locked.headers["Content-Security-Policy"]
    now[0] += 59
    assert (await login("guess")).status == 429
    now[0] += 2
    for _ in range(5):
        answers.append((await login("guess")).status)
    second = await login("guess")
    assert second.status == 429 and second.headers["Retry-After"] == "120"  # doubled
    now[0] += 121
    assert (await login("correct horse")).status == 302  # a good login clears the count
    assert (await login("guess")).status == 403
    # The Bearer API is not the login form: it keeps working throughout.
    assert (await h.client.get("/api/events", headers=h.admin_headers)).status == 200
    with capsys.disabled():
        print(f"\nlogin throttling: {len(answers) + 6} logins, lockouts of 60 s then 120 s")


async def test_a_burst_of_concurrent_guesses_gets_no_more_tries_than_the_limit(
    limelight, capsys
) -> None:
    h = await limelight()
    h.app[THROTTLE].clock = lambda: 1000.0
    release = asyncio.Event()

    async def slow_body(i: int) -> AsyncIterator[bytes]:
        # Every guess is in flight, its form half-sent, before any of them is complete.
        yield b"token=gue"
        await release.wait()
        yield f"ss-{i}".encode()

    async def guess(i: int) -> int:
        response = await h.client.post(
            "/admin/login",
            data=slow_body(i),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        )
        return response.status

    tasks = [asyncio.ensure_future(guess(i)) for i in range(40)]
    for _ in range(100):  # let every request reach the server with its first half
        await asyncio.sleep(0)
    release.set()
    statuses = sorted(await asyncio.gather(*tasks))
    with capsys.disabled():
        print(
            f"\n40 concurrent wrong logins: {statuses.count(403)} checked, "
            f"{statuses.count(429)} refused"
        )
    assert statuses == [403] * 5 + [429] * 35


def test_guessing_from_many_addresses_locks_the_whole_server() -> None:
    now = [0.0]
    throttle = LoginThrottle(attempts=5, lockout=60, clock=lambda: now[0])
    for i in range(49):
        throttle.failed(f"10.0.0.{i}")  # one guess from each of 49 addresses
    assert throttle.check("10.0.1.1") is None
    throttle.failed("10.0.0.200")
    refusal = throttle.check("10.0.1.1")
    assert refusal is not None and refusal.retry_after == 60
    assert "on this server" in refusal.message
    now[0] += 60
    assert throttle.check("10.0.1.1") is None
    # The table of addresses stays bounded however many addresses guess.
    for i in range(20_000):
        throttle.failed(f"addr-{i}")
    assert len(throttle._addresses) <= 10_000


async def test_undecodable_cookie_and_authorization_bytes_are_refused_not_500(limelight) -> None:
    h = await limelight()
    port = h.client.port
    requests = {
        "cookie": b"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: limelight_session=\xff\xfe\r\n",
        "bearer": b"GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\r\n",
        "page": b"GET /admin/ HTTP/1.1\r\nHost: x\r\nCookie: \xff=\xff; limelight_session=\x80\r\n",
    }
    for case, head in requests.items():
        status = await asyncio.to_thread(raw_status, port, head + b"Connection: close\r\n\r\n")
        assert status in (302, 400, 401, 403), (case, status)


def raw_status(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        head = sock.recv(64)
    return int(head.split(b" ", 2)[1])
