"""The Quarantine page in headless Chromium: its Dismiss button goes through the CSRF guard
(the page's script sends the session's token) and the entry is dismissed."""

from __future__ import annotations

import shutil

import pytest
from limelight import quarantine
from limelight.models import QuarantineEntry
from limelight.testing import ADMIN_TOKEN, make_tip

from tests.support import chromium_path, need

pytestmark = pytest.mark.browser


async def test_dismiss_on_the_quarantine_page_works_in_a_real_browser(limelight) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    h = await limelight()
    tip = make_tip("5.00", "USD", viewer="carol", source="kofi", source_id="poison-1")
    await quarantine.keep_event(tip, "ValueError: cannot be stored", stage=quarantine.STORE)
    base = h.url("/").rstrip("/")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(base + "/admin/login")
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.goto(base + "/admin/quarantine")
            assert "carol" in await page.inner_text("#quarantine-list")
            await page.click("#quarantine-list button[data-action=dismiss]")
            await page.wait_for_function(
                "() => !document.querySelector('#quarantine-list [data-entry]')"
            )
            assert "Dismissed." in await page.inner_text("#quarantine-feedback")
            assert errors == []
        finally:
            await browser.close()
    entry = await QuarantineEntry.get(source="kofi", source_id="poison-1")
    assert entry.dismissed_at is not None
