"""The Members page in headless Chromium: rows render as text, a grant, an extension and a
revocation go through the CSRF-guarded fetch, the emote upload works, the tier editor
saves (the Fourthwall tier id too), the chart loads, and nothing a viewer typed runs as
script."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from limelight.testing import ADMIN_TOKEN, make_viewer

from tests.support import chromium_path, need

from .doubles import png

pytestmark = pytest.mark.browser

XSS_NAME = '<img src=x onerror="alert(1)">'
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "vip"


async def test_members_page_in_a_real_browser(vip, tmp_path: Path) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    v = await vip()
    hostile = make_viewer(XSS_NAME)
    await v.plugin.grant(hostile, "tier2", duration=timedelta(days=3), source="t", source_id="x")
    await v.h.chat_as("bob", "hello")  # seen in chat: the grant form finds him
    emote_file = tmp_path / "hype.png"
    emote_file.write_bytes(png(32, 32))
    base = v.h.url("/").rstrip("/")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(),
            args=["--no-sandbox", "--disable-gpu"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1600})
            errors: list[str] = []
            dialogs: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            async def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
                dialogs.append(dialog.message)
                await (dialog.accept() if dialog.type == "confirm" else dialog.dismiss())

            page.on("dialog", on_dialog)
            await page.goto(base + "/admin/login")
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.goto(base + "/p/vip/")
            await page.wait_for_selector("#vip-rows tr td:has-text('Tier 2')")
            assert XSS_NAME in await page.inner_text("#vip-rows")  # text, not markup

            # grant bob from the form
            await page.fill("#vip-grant input[name=name]", "bob")
            await page.select_option("#vip-grant select[name=tier]", "tier3")
            await page.fill("#vip-grant input[name=days]", "7")
            await page.click("#vip-grant button[type=submit]")
            await page.wait_for_selector("#vip-rows tr:has-text('bob')")
            assert v.plugin.is_member(make_viewer("bob"), {"tier3"})

            # +30 days, then revoke, on bob's row
            await page.click("#vip-rows tr:has-text('bob') button:has-text('+30 days')")
            await page.wait_for_function(
                "() => !!window.fetch"  # the reload is async: wait on the server state below
            )
            for _ in range(100):
                held = v.plugin.membership(make_viewer("bob"))
                if held and held.ends and held.ends - held.starts > timedelta(days=30):
                    break
                await page.wait_for_timeout(50)
            else:
                raise AssertionError("+30 days did not reach the server")
            await page.click("#vip-rows tr:has-text('bob') button:has-text('Revoke')")
            ask = page.locator("dialog.ll-dialog")
            await ask.wait_for(state="visible")
            assert "bob" in await ask.inner_text()
            await ask.locator("button[type=submit]").click()
            await page.wait_for_selector("#vip-rows tr:has-text('bob')", state="detached")
            assert not v.plugin.is_member(make_viewer("bob"))

            # an emote upload through the multipart form (CSRF token in the header)
            await page.fill("#vip-emote input[name=code]", "hype")
            await page.set_input_files("#vip-emote input[name=file]", str(emote_file))
            await page.click("#vip-emote button[type=submit]")
            await page.wait_for_selector("#vip-emotes li:has-text(':hype:') img")

            # the tier editor saves a new label
            OUTPUT.mkdir(parents=True, exist_ok=True)
            await page.wait_for_selector("#vip-tiers .vip-tier")
            first = "#vip-tiers .vip-tier:first-child"
            await page.fill(f"{first} input[data-field=label]", "Fan Club")
            fourthwall = f"{first} input[data-field=fourthwall_tier]"
            await page.fill(fourthwall, "tier_fan_club")
            # every field is labelled in words, perks are boxes to tick, the card is named
            # after its badge and label as they are typed
            card = page.locator(first)
            assert await card.locator("legend").inner_text() == "★ Fan Club"
            assert await card.get_by_label("Stripe Payment Link").count() == 1
            before = set(v.plugin.tiers()[0].perks)
            assert before == {"emotes", "members_only_chat"}, before
            await card.get_by_label("Members-only chat").uncheck()
            await card.get_by_label("Members' room").check()
            await card.screenshot(path=str(OUTPUT / "tier-card.png"))
            await page.click("#vip-tier-save")
            await page.wait_for_selector("#vip-tier-state:has-text('saved in the dashboard')")
            assert v.plugin.tiers()[0].label == "Fan Club"
            assert v.plugin.tiers_book.for_fourthwall("tier_fan_club") is not None
            assert v.plugin.tiers()[0].perks == {"emotes", "room"}
            # the saved tiers come back as they were ticked
            assert await page.locator(first).get_by_label("Members' room").is_checked()
            assert not await page.locator(first).get_by_label("Members-only chat").is_checked()

            # the members-only switch
            await page.click("#vip-window-on")
            await page.wait_for_selector("#vip-window-state:has-text('members-only until')")
            assert v.plugin.members_window_open()

            loaded = await page.evaluate(
                "() => { const i = document.getElementById('vip-chart');"
                " return i.complete && i.naturalWidth > 0; }"
            )
            assert loaded
            await page.screenshot(path=str(OUTPUT / "members-page.png"), full_page=True)
            assert errors == []
            assert dialogs == []  # asked in the page's own dialog, not confirm()
        finally:
            await browser.close()
