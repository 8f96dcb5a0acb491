"""The tips dashboard in headless Chromium: rows render as text, filters work, a refund by
hand goes through, and nothing a tipper typed runs as script."""

from __future__ import annotations

import shutil

import pytest
from limelight.testing import ADMIN_TOKEN, make_tip

from tests.support import chromium_path, need

pytestmark = pytest.mark.browser

XSS_NAME = '<img src=x onerror="alert(1)">'
XSS_MESSAGE = '<script>alert("pwned")</script><svg onload=alert(2)>'


async def test_dashboard_lists_filters_and_refunds_in_a_real_browser(tips) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    t = await tips()
    await t.h.publish(make_tip("12.50", "USD", viewer=XSS_NAME, message=XSS_MESSAGE))
    await t.h.publish(make_tip("3.00", "EUR", viewer="bob", message="hello"))
    base = t.h.url("/").rstrip("/")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or chromium_path(),
            args=["--no-sandbox", "--disable-gpu"],
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            alerts: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            async def on_dialog(dialog) -> None:
                # no window.prompt() or alert() any more: the refund asks in the page
                alerts.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            await page.goto(base + "/admin/login")
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.goto(base + "/p/tips/")
            await page.wait_for_selector("#tips-rows tr:nth-child(2)")
            text = await page.inner_text("#tips-rows")
            assert XSS_NAME in text and XSS_MESSAGE in text  # shown as text, not markup
            assert "$12.50 (1)" in await page.inner_text("#tips-totals")

            await page.fill("input[name=q]", "bob")
            await page.click("#tips-filters button[type=submit]")
            await page.wait_for_function(
                "() => document.querySelectorAll('#tips-rows tr').length === 1"
            )
            assert "bob" in await page.inner_text("#tips-rows")
            href = await page.get_attribute("#tips-export", "href")
            assert href is not None and "q=bob" in href

            await page.click("#tips-rows button")
            refund = page.locator("dialog.ll-dialog")
            await refund.wait_for(state="visible")
            await refund.locator("button[type=submit]").click()  # empty: all that is left
            await page.wait_for_function(
                "() => document.querySelectorAll('#tips-rows tr').length === 2"
            )
            assert "-€3.00" in await page.inner_text("#tips-rows")
            assert errors == [] and alerts == []
        finally:
            await browser.close()
    amounts = sorted(e["amount"] for e in await t.entries())
    assert amounts == ["-3.00", "12.50", "3.00"]
