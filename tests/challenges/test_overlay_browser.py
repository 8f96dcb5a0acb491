"""The challenges overlay in real headless Chromium at its declared size (640 x 360): empty
and transparent with nothing running; bars and milestone marks move as tips arrive; the
XSS corpus in titles and milestone labels is shown as text and runs nothing."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from limelight import Money, Refund
from limelight.testing import ADMIN_TOKEN, OVERLAY_TOKEN, make_settings, make_tip, start_harness
from limelight_challenges import ChallengesPlugin

from ..overlays.test_browser import CANARY, CHROMIUM_ARGS, PAYLOADS, _same_origin
from ..support import chromium_path, need
from .conftest import TestClock

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "challenges"
WIDTH, HEIGHT = 640, 360


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def chromium() -> AsyncIterator[Any]:
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
    plugin = ChallengesPlugin()
    plugin.clock = TestClock()
    settings = make_settings(
        tmp_path, {"plugins": {"challenges": {"currency": "USD", "announce": False}}}
    )
    h = await start_harness(settings, {"challenges": plugin})
    try:
        yield h
    finally:
        await h.close()


def challenge(key: str, title: str, labels: list[str], target: int = 10000) -> dict[str, Any]:
    step = target // (len(labels) + 1)
    return {
        "key": key,
        "title": title[:200],
        "metric": "tips",
        "target": target,
        "window": "week",
        "milestones": [
            {"at": step * (i + 1), "label": label[:200]} for i, label in enumerate(labels)
        ],
    }


async def test_the_progress_overlay_moves_fits_and_runs_no_payload(
    chromium: Any, server: Any
) -> None:
    context = await chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = await context.new_page()
    origin = server.url("/").rstrip("/")
    dialogs: list[str] = []
    errors: list[str] = []
    console: list[str] = []
    blocked: list[str] = []
    requests: list[str] = []

    async def guard(route: Any) -> None:
        requests.append(route.request.url)
        if _same_origin(route.request.url, origin):
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    await page.route("**/*", guard)
    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        await page.goto(server.url(f"/overlays/challenges?token={OVERLAY_TOKEN}"))
        await page.wait_for_function("() => window.Limelight && window.Limelight.connected")

        # Nothing running: transparent and empty (no placeholder on stream).
        assert await page.evaluate("document.getElementById('challenges').hidden") is True
        assert (await page.evaluate("document.body.innerText")).strip() == ""
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background in ("rgba(0, 0, 0, 0)", "transparent")
        await page.screenshot(path=str(OUTPUT / "progress-empty.png"), omit_background=True)

        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        titles = [PAYLOADS[0], PAYLOADS[1], "New microphone fund " * 2]
        items = [
            challenge("x1", titles[0], PAYLOADS[2:6]),
            challenge("x2", titles[1], PAYLOADS[6:9]),
            challenge("mic", titles[2], ["Cable", "Stand", "Mic"], target=6000000),
            challenge("fourth", "Only three fit", ["a"]),
        ]
        for item in items:
            response = await server.client.post("/api/challenges", json=item, headers=headers)
            assert response.status == 201, await response.text()
        await page.wait_for_function(
            "() => document.querySelectorAll('.challenge').length === 3", timeout=10_000
        )
        shown = await page.eval_on_selector_all(
            ".challenge-title", "els => els.map(e => e.textContent)"
        )
        assert shown == [t[:200] for t in titles]
        labels = await page.eval_on_selector_all(
            ".challenge:first-child .challenge-mark-label", "els => els.map(e => e.textContent)"
        )
        assert labels == [p[:200] for p in PAYLOADS[2:6]]
        assert await page.eval_on_selector(".challenge-fill", "e => e.style.width") == "0%"

        # Tips move the bars and reach marks.
        tip = make_tip("45.00", "USD")
        await server.publish(tip)
        plugin = server.plugin("challenges", ChallengesPlugin)
        await plugin.settle()
        await page.wait_for_function(
            "() => document.querySelector('.challenge-fill').style.width === '45%'",
            timeout=10_000,
        )
        reached = await page.eval_on_selector_all(
            ".challenge:first-child .challenge-mark",
            "els => els.map(e => e.classList.contains('reached'))",
        )
        assert reached == [True, True, False, False]
        progress = await page.eval_on_selector(".challenge-progress", "e => e.textContent")
        assert progress.startswith("$45.00 / $100.00")

        # A figure is never cut: where it and the time left do not fit beside the title,
        # the time left gives way (the figure and the title matter more on stream).
        figures = await page.eval_on_selector_all(
            ".challenge-progress",
            "els => els.map(e => [e.textContent, e.scrollWidth <= e.clientWidth + 1])",
        )
        assert all(whole for _, whole in figures), figures
        assert figures[2][0] == "$45.00 / $60,000.00", figures  # its title is cut too

        # Everything fits the declared size.
        boxes = await page.eval_on_selector_all(
            ".challenge, .challenge-title, .challenge-bar, .challenge-mark-label",
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom]; })",
        )
        for left, top, right, bottom in boxes:
            assert left >= 0 and top >= 0 and right <= WIDTH and bottom <= HEIGHT, boxes
        await page.screenshot(path=str(OUTPUT / "progress.png"), omit_background=True)

        # Nothing ran, nothing left the server, nothing was parsed as markup.
        assert await page.evaluate(CANARY) is None
        injected = await page.evaluate(
            "document.querySelectorAll('#challenges script, #challenges img, #challenges svg,"
            " #challenges iframe, #challenges style, #challenges a').length"
        )
        assert injected == 0
        assert dialogs == [] and errors == [] and blocked == []
        assert [c for c in console if "Refused" in c or "error" in c.lower()] == []
        assert all(_same_origin(r, origin) for r in requests)

        # A refund takes the bar back; the marks that fired stay marked as fired.
        await server.publish(
            Refund(
                source="test",
                source_id="refund-1",
                amount=Money(3000, "USD"),
                original_source=tip.source,
                original_id=tip.source_id,
            )
        )
        await plugin.settle()
        await page.wait_for_function(
            "() => document.querySelector('.challenge-fill').style.width === '15%'",
            timeout=10_000,
        )
        marks = await page.eval_on_selector_all(
            ".challenge:first-child .challenge-mark", "els => els.map(e => e.className)"
        )
        assert marks == [
            "challenge-mark fired",
            "challenge-mark fired",
            "challenge-mark",
            "challenge-mark",
        ]
        await page.screenshot(path=str(OUTPUT / "progress-refunded.png"), omit_background=True)

        # Pausing them all empties the overlay again.
        listing = await (await server.client.get("/api/challenges", headers=headers)).json()
        for item in listing["challenges"]:
            await server.client.post(f"/api/challenges/{item['id']}/pause", headers=headers)
        await plugin.settle()
        await page.wait_for_function(
            "() => document.getElementById('challenges').hidden", timeout=10_000
        )
        assert (await page.evaluate("document.body.innerText")).strip() == ""
    finally:
        await context.close()


async def add_milestone(page: Any, at: str, label: str, chat: str) -> None:
    """A row in the form's milestone editor, filled in."""
    await page.click("#milestone-add")
    row = page.locator("#milestone-rows > li").last
    await row.locator("input[name=milestone-at]").fill(at)
    await row.locator("input[name=milestone-label]").fill(label)
    await row.locator("input[name=milestone-chat]").fill(chat)


async def saved(server: Any, key: str) -> dict[str, Any]:
    """A challenge's settings as the API holds them."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    listing = await (await server.client.get("/api/challenges", headers=headers)).json()
    return next(c["settings"] for c in listing["challenges"] if c["key"] == key)


async def test_the_dashboard_creates_pauses_and_reviews_in_a_real_browser(
    chromium: Any, server: Any
) -> None:
    """The dashboard's script goes through the CSRF guard; a hostile title stays text."""
    context = await chromium.new_context()
    page = await context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: dialogs.append(d.message))
    base = server.url("/").rstrip("/")
    try:
        await page.goto(base + "/admin/login")
        await page.fill("input[name=token]", ADMIN_TOKEN)
        await page.click("button[type=submit]")
        await page.goto(base + "/p/challenges/")
        await page.wait_for_function(
            "() => !document.querySelector('#challenges-rows .empty')"
            " || document.querySelector('#challenges-rows').textContent.includes('No challenges')"
        )
        form = "#challenge-form"
        await page.fill(f"{form} input[name=key]", "browser-made")
        await page.fill(f"{form} input[name=title]", PAYLOADS[1])
        await page.select_option(f"{form} select[name=metric]", "chat_messages")
        await page.fill(f"{form} input[name=target]", "50")
        await page.select_option(f"{form} select[name=window]", "day")
        await add_milestone(page, "10", "Ten lines", "Ten lines already!")
        await page.click(f"{form} button[type=submit]")
        row = "#challenges-rows tr:has-text('browser-made')"
        await page.wait_for_selector(row)
        made = await saved(server, "browser-made")
        assert made["target"] == 50
        assert [(m["at"], m["label"], m["actions"]) for m in made["milestones"]] == [
            (10, "Ten lines", [{"do": "chat", "text": "Ten lines already!"}])
        ]
        # Money is typed as money (200.00 USD), sent in cents, and edited as money again.
        await page.fill(f"{form} input[name=key]", "money-made")
        await page.fill(f"{form} input[name=title]", "Tips for a new chair")
        await page.select_option(f"{form} select[name=metric]", "tips")
        assert await page.inner_text(f"{form} .unit-field .metric-unit") == "USD"
        await page.fill(f"{form} input[name=target]", "200")
        await add_milestone(page, "50.50", "A cushion", "")
        await page.fill(f"{form} input[name=reward-chat]", "Chair time!")
        await page.check(f"{form} input[name=reward-badge]")
        await page.click(f"{form} button[type=submit]")
        await page.wait_for_selector("#challenges-rows tr:has-text('money-made')")
        money = await saved(server, "money-made")
        assert money["target"] == 20000
        assert [(m["at"], m["label"], m["actions"]) for m in money["milestones"]] == [
            (5050, "A cushion", [])
        ]
        assert money["rewards"] == [
            {"do": "chat", "text": "Chair time!"},
            {"do": "badge", "badge": "challenger"},
        ]
        await page.click("#challenges-rows tr:has-text('money-made') button:has-text('Edit')")
        assert await page.input_value(f"{form} input[name=target]") == "200.00"
        assert await page.input_value("#milestone-rows input[name=milestone-at]") == "50.50"
        OUTPUT.mkdir(parents=True, exist_ok=True)
        await page.locator("#challenge-form").screenshot(path=str(OUTPUT / "dashboard-edit.png"))
        await page.click(f"{form} button[type=reset]")
        assert await page.locator("#milestone-rows li").count() == 0
        # A milestone's other actions (set in config or the API) are kept through an edit.
        keep = challenge("kept", "Kept actions", [])
        keep["rewards"] = [
            {"do": "obs_scene", "scene": "Party", "seconds": 10},
            {"do": "badge", "badge": "challenger"},
        ]
        keep["milestones"] = [
            {
                "at": 500,
                "label": "Badge time",
                "actions": [
                    {"do": "badge", "badge": "challenger"},
                    {"do": "chat", "text": "old line"},
                ],
            }
        ]
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        response = await server.client.post("/api/challenges", json=keep, headers=headers)
        assert response.status == 201, await response.text()
        await page.reload()
        # The server's badges are suggested by name in the action fields.
        await page.wait_for_function(
            "() => [...document.querySelectorAll('#milestone-choices-badges option')]"
            ".some(o => o.value === 'challenger')"
        )
        await page.click("#challenges-rows tr:has-text('Kept actions') button:has-text('Edit')")
        # Every action is a row of fields: the milestone's badge, the reward's OBS scene.
        badge = page.locator("#milestone-rows .action-row")
        assert (
            await badge.locator(".action-name").inner_text() == "Give everyone who counted a badge"
        )
        assert await badge.locator("input[name=action-badge]").input_value() == "challenger"
        # A name the server does not know is pointed out as it is typed.
        assert await badge.locator(".field-warn").inner_text() == ""
        await badge.locator("input[name=action-badge]").fill("challengr")
        await page.wait_for_function(
            "() => document.querySelector('#milestone-rows .field-warn').textContent"
            " === 'there is no badge of this name'"
        )
        await badge.locator("input[name=action-badge]").fill("challenger")
        await page.wait_for_function(
            "() => document.querySelector('#milestone-rows .field-warn').textContent === ''"
        )
        scene = page.locator("#reward-actions .action-row")
        assert await scene.locator("input[name=action-scene]").input_value() == "Party"
        assert await scene.locator("input[name=action-seconds]").input_value() == "10"
        assert await page.is_checked(f"{form} input[name=reward-badge]")
        await page.uncheck(f"{form} input[name=reward-badge]")
        await page.fill("#milestone-rows input[name=milestone-chat]", "new line")
        await scene.locator("input[name=action-seconds]").fill("20")
        # An action added from the menu: a half-filled one is refused, saying what it needs.
        await page.select_option("#reward-actions select.action-add", "unlock_command")
        unlock = page.locator("#reward-actions .action-row").last
        await unlock.locator("input[name=action-command]").fill("!spicy")
        await page.select_option("#milestone-rows select.action-add", "vip_grant")
        await page.click(f"{form} button[type=submit]")
        assert await page.inner_text("#challenge-form-error") == (
            "Milestone 1: “Make everyone who counted a member” needs the tier"
        )
        grant = page.locator("#milestone-rows .action-row").last
        await grant.locator("input[name=action-tier]").fill("gold")
        await grant.locator("input[name=action-days]").fill("7")
        # this server runs no VIP plugin: said beside the tier (the form still saves it)
        assert await grant.locator(".field-warn").inner_text() == "the VIP plugin is not running"
        await page.click(f"{form} button[type=submit]")
        assert await page.inner_text("#challenge-form-error") == (
            "The reward: “Unlock a locked chat command” needs the minutes"
        )
        await unlock.locator("input[name=action-minutes]").fill("15")
        await page.locator("#challenge-form").screenshot(path=str(OUTPUT / "dashboard-actions.png"))
        await page.click(f"{form} button[type=submit]")
        await page.wait_for_function(
            "() => !document.getElementById('challenge-form').elements.id.value"
        )
        kept = await saved(server, "kept")
        assert kept["rewards"] == [
            {"do": "obs_scene", "scene": "Party", "seconds": 20},
            {"do": "unlock_command", "command": "spicy", "minutes": 15},
        ]
        assert kept["milestones"][0]["actions"] == [
            {"do": "badge", "badge": "challenger"},
            {"do": "chat", "text": "new line"},
            {"do": "vip_grant", "tier": "gold", "days": 7},
        ]
        assert PAYLOADS[1] in await page.inner_text(row)
        assert "running" in await page.inner_text(row)
        await page.click(f"{row} button:has-text('Pause')")
        await page.wait_for_function(
            "() => [...document.querySelectorAll('#challenges-rows tr')].some("
            "tr => tr.textContent.includes('browser-made') && tr.textContent.includes('paused'))"
        )
        await page.click(f"{row} button:has-text('Review')")
        await page.wait_for_selector("#challenge-review:not([hidden])")
        assert "contributions" in await page.inner_text("#challenge-review-runs")
        # A bad target is refused with the server's message, shown as text.
        await page.fill(f"{form} input[name=key]", "second")
        await page.fill(f"{form} input[name=title]", "Second")
        await page.fill(f"{form} input[name=target]", "50")
        await add_milestone(page, "99", "", "")
        await page.click(f"{form} button[type=submit]")
        await page.wait_for_selector("#challenge-form-error:not([hidden])")
        assert "beyond the target" in await page.inner_text("#challenge-form-error")
        assert await page.evaluate(CANARY) is None
        assert errors == [] and dialogs == []
    finally:
        await context.close()
