"""Moderators: an invite link gives a moderator their own login with limited rights.

The moderator's browser is a second HTTP client with its own cookie jar; the streamer uses
the admin token. What a moderator may do (queue controls, the chat console) answers 2xx;
what they may not (refunds, settings, invites, the quarantine, the report) answers 403 and
is not in their navigation.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from limelight.models import DashboardSession, Moderator, ModeratorInvite
from limelight.testing import Harness
from limelight_alerts import AlertsPlugin
from limelight_console import ConsolePlugin
from limelight_tips import TipsPlugin

from tests.support import chromium_path, need

PASSWORD = "correct horse battery"
PLUGINS = {"alerts": AlertsPlugin, "console": ConsolePlugin, "tips": TipsPlugin}


@asynccontextmanager
async def browser_of(h: Harness) -> AsyncIterator[aiohttp.ClientSession]:
    """A second browser (its own cookies) against the harness's server."""
    async with aiohttp.ClientSession(
        base_url=h.url("/").rstrip("/"), cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        yield session


async def invite(h: Harness, name: str = "modmin", hours: int = 24) -> str:
    response = await h.client.post(
        "/api/moderators/invites", json={"name": name, "hours": hours}, headers=h.admin_headers
    )
    assert response.status == 201, await response.text()
    url = (await response.json())["url"]
    assert url.startswith(h.settings.base_url() + "/admin/invite/")
    return "/admin/invite/" + url.rsplit("/", 1)[1]


async def accept(mod: aiohttp.ClientSession, path: str, origin: str) -> dict[str, str]:
    """Open the invite, choose a password; the headers the moderator's scripts send."""
    page = await mod.get(path)
    assert page.status == 200, await page.text()
    response = await mod.post(
        path,
        data={"password": PASSWORD, "password2": PASSWORD},
        headers={"Origin": origin},
        allow_redirects=False,
    )
    assert response.status == 302, await response.text()
    return await csrf_headers(mod, origin)


async def csrf_headers(mod: aiohttp.ClientSession, origin: str) -> dict[str, str]:
    home = await mod.get("/admin/")
    assert home.status == 200
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', await home.text())
    assert token is not None
    return {"Origin": origin, "X-CSRF-Token": token.group(1)}


async def test_a_moderator_invite_gives_queue_and_chat_but_not_money_or_settings(
    limelight, database_url
) -> None:
    h = await limelight(PLUGINS, database_url=database_url)
    origin = h.url("/").rstrip("/")
    path = await invite(h)
    async with browser_of(h) as mod:
        headers = await accept(mod, path, origin)
        home = await (await mod.get("/admin/")).text()
        nav = re.search(r"<nav>(.*?)</nav>", home, re.S)
        assert nav is not None
        for allowed in ("Overview", "Chat", "Overlays"):
            assert f">{allowed}</a>" in nav.group(1)
        for hidden in ("Quarantine", "Report", "Moderators", "Tips"):
            assert f">{hidden}</a>" not in nav.group(1)
        assert ">moderator</span>" in home

        # Allowed: the alert queue, the chat console, the bot's voice, the event list.
        for method, url, body in (
            ("POST", "/api/overlays/alerts/pause", {}),
            ("POST", "/api/overlays/alerts/resume", {}),
            ("POST", "/api/overlays/alerts/skip", {}),
            ("POST", "/api/overlays/alerts/test", {"kind": "tip"}),
            ("GET", "/api/overlays/alerts", None),
            ("POST", "/api/chat/say", {"text": "hello chat"}),
            ("GET", "/api/chat/feed", None),
            ("POST", "/api/console/messages", {"viewer": "ann", "text": "hi"}),
            ("GET", "/api/events", None),
        ):
            response = await mod.request(method, url, json=body, headers=headers)
            assert response.status < 300, (url, response.status, await response.text())
        for page in ("/admin/chat", "/admin/overlays", "/admin/overlays/alerts"):
            assert (await mod.get(page)).status == 200, page

        # Forbidden: money, settings, invites, the quarantine, the report.
        for method, url, body in (
            ("POST", "/api/tips/entries/1/refund", {}),
            ("POST", "/api/tips/tts", {"enabled": False}),
            ("GET", "/api/tips/entries", None),
            ("POST", "/api/moderators/invites", {"name": "friend", "hours": 1}),
            ("GET", "/api/moderators", None),
            ("GET", "/api/quarantine", None),
            ("POST", "/api/events", {"type": "tip"}),
            ("POST", "/api/overlays/alerts/alerts", {"kind": "tip", "data": {}}),
            ("GET", "/-/plugins.json", None),
        ):
            response = await mod.request(method, url, json=body, headers=headers)
            assert response.status == 403, (url, response.status)
            assert "moderators cannot do this" in await response.text(), url
        for page in ("/admin/quarantine", "/admin/report", "/admin/moderators", "/p/tips/"):
            response = await mod.get(page, allow_redirects=False)
            assert response.status == 403, page
    assert await Moderator.filter(name="modmin", revoked_at=None).count() == 1


async def test_an_invite_works_once_and_not_after_revoke_or_expiry(limelight) -> None:
    h = await limelight()
    origin = h.url("/").rstrip("/")
    used = await invite(h, "first")
    async with browser_of(h) as mod:
        await accept(mod, used, origin)
    async with browser_of(h) as other:
        again = await other.get(used)
        assert again.status == 410
        assert "already used" in await again.text()
        response = await other.post(
            used, data={"password": PASSWORD, "password2": PASSWORD}, allow_redirects=False
        )
        assert response.status == 410

        revoked = await invite(h, "second")
        row = await ModeratorInvite.get(name="second")
        listing = await (await h.client.get("/api/moderators", headers=h.admin_headers)).json()
        assert [i["name"] for i in listing["invites"]] == ["second"]
        response = await h.client.post(
            f"/api/moderators/invites/{row.id}/revoke", json={}, headers=h.admin_headers
        )
        assert response.status == 200
        response = await other.get(revoked)
        assert response.status == 410 and "revoked" in await response.text()

        expired = await invite(h, "third", hours=1)
        await ModeratorInvite.filter(name="third").update(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        response = await other.get(expired)
        assert response.status == 410 and "expired" in await response.text()
        response = await other.post(
            expired, data={"password": PASSWORD, "password2": PASSWORD}, allow_redirects=False
        )
        assert response.status == 410

        forged = await other.get("/admin/invite/" + "A" * 43)
        assert forged.status == 410
    assert await Moderator.filter(name__in=["second", "third"]).count() == 0


async def test_a_moderator_logs_in_by_name_and_revoking_ends_their_sessions(limelight) -> None:
    h = await limelight()
    origin = h.url("/").rstrip("/")
    path = await invite(h, "Nightbot_Human")
    async with browser_of(h) as first, browser_of(h) as second:
        await accept(first, path, origin)
        wrong = await second.post(
            "/admin/login",
            data={"name": "Nightbot_Human", "token": "not the password"},
            headers={"Origin": origin},
            allow_redirects=False,
        )
        assert wrong.status == 403
        # The streamer's token is not a moderator's password.
        wrong = await second.post(
            "/admin/login",
            data={"name": "Nightbot_Human", "token": h.settings.security.admin_token},
            headers={"Origin": origin},
            allow_redirects=False,
        )
        assert wrong.status == 403
        good = await second.post(
            "/admin/login",
            data={"name": "Nightbot_Human", "token": PASSWORD},
            headers={"Origin": origin},
            allow_redirects=False,
        )
        assert good.status == 302
        headers = await csrf_headers(second, origin)
        assert (await second.get("/api/chat/feed", headers=headers)).status == 200
        moderator = await Moderator.get(name="Nightbot_Human")
        assert await DashboardSession.filter(moderator_id=moderator.id).count() == 2

        response = await h.client.post(
            f"/api/moderators/{moderator.id}/revoke", json={}, headers=h.admin_headers
        )
        assert response.status == 200
        assert await DashboardSession.filter(moderator_id=moderator.id).count() == 0
        for browser in (first, second):
            assert (await browser.get("/api/chat/feed")).status == 401
            page = await browser.get("/admin/", allow_redirects=False)
            assert page.status == 302 and page.headers["Location"] == "/admin/login"
        again = await second.post(
            "/admin/login",
            data={"name": "Nightbot_Human", "token": PASSWORD},
            headers={"Origin": origin},
            allow_redirects=False,
        )
        assert again.status == 403


async def test_invite_input_is_checked(limelight) -> None:
    h = await limelight()
    for body, status in (
        ({"name": "", "hours": 24}, 400),
        ({"name": "x", "hours": 0}, 400),
        ({"name": "x", "hours": 24 * 31}, 400),
        ({"name": "x", "hours": "24"}, 400),
        ([], 400),
    ):
        response = await h.client.post(
            "/api/moderators/invites", json=body, headers=h.admin_headers
        )
        assert response.status == status, body
    path = await invite(h, "shorty")
    async with browser_of(h) as mod:
        short = await mod.post(path, data={"password": "short", "password2": "short"})
        assert short.status == 400 and "at least 10" in await short.text()
        differ = await mod.post(path, data={"password": PASSWORD, "password2": PASSWORD + "!"})
        assert differ.status == 400 and "differ" in await differ.text()
        # still open: those attempts did not use it
        assert (await mod.get(path)).status == 200


@pytest.mark.browser
async def test_a_moderator_in_chromium_sees_only_their_pages_and_is_refused_refunds(
    limelight,
) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    h = await limelight(PLUGINS)
    base = h.url("/").rstrip("/")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            errors: list[str] = []
            # The streamer makes the invite on the Moderators page.
            streamer = await browser.new_page()
            streamer.on("pageerror", lambda exc: errors.append(str(exc)))
            await streamer.goto(base + "/admin/login")
            await streamer.fill("input[name=token]", h.settings.security.admin_token)
            await streamer.click("button[type=submit]")
            await streamer.goto(base + "/admin/moderators")
            await streamer.fill("#invite-form input[name=name]", "chromium_mod")
            await streamer.select_option("#invite-form select[name=hours]", "1")
            await streamer.click("#invite-form button[type=submit]")
            await streamer.wait_for_function(
                "() => document.getElementById('invite-url').value !== ''"
            )
            link = await streamer.input_value("#invite-url")
            assert link.startswith(h.settings.base_url() + "/admin/invite/")
            assert "chromium_mod" in await streamer.inner_text("#invite-rows")
            path = "/admin/invite/" + link.rsplit("/", 1)[1]

            # The moderator opens it in their own browser.
            context = await browser.new_context()
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(base + path)
            assert await page.inner_text("#invite-name") == "chromium_mod"
            await page.fill("input[name=password]", PASSWORD)
            await page.fill("input[name=password2]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/admin/")
            nav = await page.inner_text("header nav")
            assert "Overlays" in nav and "Chat" in nav
            assert "Quarantine" not in nav and "Tips" not in nav and "Moderators" not in nav
            await page.goto(base + "/admin/overlays")
            # The page's own script path: limelightApi sends the CSRF token.
            paused: Any = await page.evaluate(
                "() => window.limelightApi('/api/overlays/alerts/pause',"
                " {method: 'POST', body: '{}'}).then(() => 'ok', (e) => e.message)"
            )
            assert paused == "ok"
            refused: Any = await page.evaluate(
                "() => window.limelightApi('/api/tips/entries/1/refund',"
                " {method: 'POST', body: '{}'}).then(() => 'ok', (e) => e.message)"
            )
            assert "moderators cannot do this" in refused
            assert errors == []
        finally:
            await browser.close()
    assert h.services.overlays.channel("alerts").paused
