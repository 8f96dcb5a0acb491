"""The charity dashboard and report in headless Chromium: campaigns and rows render as
text, a donation by hand and a refund go through the CSRF-guarded API, a campaign is
created from the form, and nothing a donor typed runs as script."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from limelight import Donation, Money, ViewerRef
from limelight.testing import ADMIN_TOKEN
from limelight_charity.models import Campaign, CharityEntry

from tests.support import chromium_path, need

from .test_overlay_browser import OUTPUT

pytestmark = pytest.mark.browser

XSS_NAME = '<img src=x onerror="alert(1)">'
XSS_MESSAGE = '<script>alert("pwned")</script><svg onload=alert(2)>'


async def test_dashboard_in_a_real_browser(charity) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    c = await charity()
    await c.h.publish(
        Donation(
            source="twitch",
            source_id=f"charity:{uuid.uuid4()}",
            viewer=ViewerRef("twitch", "666", XSS_NAME),
            amount=Money(2000, "EUR"),
            message=XSS_MESSAGE,
        )
    )
    base = c.h.url("/").rstrip("/")
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

            async def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
                alerts.append(dialog.message)  # the page asks in its own dialog, never these
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            await page.goto(base + "/admin/login")
            await page.fill("input[name=token]", ADMIN_TOKEN)
            await page.click("button[type=submit]")
            await page.goto(base + "/p/charity/")
            await page.wait_for_selector(
                "#charity-entries tr td:not(.empty)"
            )  # not "Pick a campaign."
            campaigns = await page.inner_text("#charity-campaigns")
            assert "Pandas need bamboo" in campaigns and "€20.00 of €1,000.00" in campaigns
            rows = await page.inner_text("#charity-entries")
            assert XSS_NAME in rows and XSS_MESSAGE in rows  # as text, not markup

            # a donation by hand
            await page.fill("#charity-manual input[name=name]", "Grandma")
            await page.fill("#charity-manual input[name=amount]", "30.00")
            await page.click("#charity-manual button[type=submit]")
            await page.wait_for_function(
                "() => document.querySelectorAll('#charity-entries tr').length === 2"
            )
            assert "€50.00 of €1,000.00" in await page.inner_text("#charity-campaigns")

            # refund the hostile donor's donation
            await page.click("#charity-entries tr:last-child button")
            refund = page.locator("dialog.ll-dialog")
            await refund.wait_for(state="visible")
            await refund.locator("button[type=submit]").click()  # empty: all that is left
            await page.wait_for_function(
                "() => document.querySelectorAll('#charity-entries tr').length === 3"
            )
            assert "€30.00 of €1,000.00" in await page.inner_text("#charity-campaigns")

            # a new campaign from the form
            await page.fill("#charity-edit input[name=id]", "food-bank")
            await page.fill("#charity-edit input[name=title]", "Winter food bank")
            await page.fill("#charity-edit input[name=cause]", "City Harvest")
            await page.fill("#charity-edit input[name=cause_url]", "https://example.org/give")
            await page.fill("#charity-edit input[name=goal]", "500")
            await page.fill("#charity-edit input[name=currency]", "USD")
            # a campaign a week from now (fixed dates would turn into a past campaign)
            soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=8)
            starts, ends = soon, soon + timedelta(hours=8)
            await page.fill("#charity-edit input[name=starts_at]", f"{starts:%Y-%m-%dT%H:%M}")
            await page.fill("#charity-edit input[name=ends_at]", f"{ends:%Y-%m-%dT%H:%M}")
            # a milestone typed in the campaign's money, saved in its cents
            await page.click("#charity-milestone-add")
            row = page.locator("#charity-milestones > li").last
            assert await row.locator(".milestone-unit").inner_text() == "USD"
            await row.locator("input[name=milestone-at]").fill("250")
            await row.locator("input[name=milestone-label]").fill("Half")
            # ... and hides the webcam for half a minute (an action added from the menu)
            await row.locator("select.action-add").select_option("obs_source")
            await row.locator(".action-row select[name=action-visible]").select_option("false")
            await row.locator(".action-row input[name=action-source]").fill("Webcam")
            await row.locator(".action-row input[name=action-seconds]").fill("30")
            await page.click("#charity-milestone-add")
            row = page.locator("#charity-milestones > li").last
            await row.locator("input[name=milestone-at]").fill("400.50")
            await row.locator("input[name=milestone-label]").fill("Almost")
            await row.locator("input[name=milestone-chat]").fill("{label} there!")
            # a rate a row: 1 GBP = 1.17 USD (a half-typed row is refused, saying why)
            await page.click("#charity-rate-add")
            await page.fill("#charity-rates input[name=rate-currency]", "gbp")
            await page.click("#charity-edit button[type=submit]")
            assert "Exchange rates:" in await page.inner_text("#charity-edit-error")
            await page.fill("#charity-rates input[name=rate-value]", "1.17")
            assert await page.inner_text("#charity-rates .rate-to") == "USD"
            await page.click("#charity-edit button[type=submit]")
            await page.wait_for_function(
                "() => document.querySelectorAll('#charity-campaigns > li').length === 2"
            )
            # changing it shows the milestones in money again
            await page.click("#charity-campaigns > li:has-text('Winter food bank') button")
            shown = await page.eval_on_selector_all(
                "#charity-milestones input[name=milestone-at]", "els => els.map(e => e.value)"
            )
            assert shown == ["250.00", "400.50"]
            hide = page.locator("#charity-milestones .action-row")
            assert await hide.locator("select[name=action-visible]").input_value() == "false"
            assert await hide.locator("input[name=action-source]").input_value() == "Webcam"
            rate = page.locator("#charity-rates li")
            assert await rate.locator("input[name=rate-currency]").input_value() == "GBP"
            assert await rate.locator("input[name=rate-value]").input_value() == "1.17"
            OUTPUT.mkdir(parents=True, exist_ok=True)
            await page.locator("#charity-edit").screenshot(path=str(OUTPUT / "campaign-form.png"))

            await page.goto(base + "/p/charity/pandas-2026/report")
            assert "€30.00" in await page.inner_text("#report-total")
            chart = await page.get_attribute("#report-chart", "src")
            assert chart and chart.startswith("data:image/svg+xml;base64,")
            assert (
                await page.evaluate("() => document.getElementById('report-chart').naturalWidth")
                == 760
            )  # the picture loaded (a broken image has no width)
            top = await page.inner_text("#report-top")
            assert "Grandma" in top and XSS_NAME not in top  # fully refunded: not a donor
            assert errors == [] and alerts == []
        finally:
            await browser.close()
    assert await CharityEntry.all().count() == 3
    food = await Campaign.get(slug="food-bank")
    assert (food.goal_minor, food.currency, food.origin) == (50000, "USD", "dashboard")
    assert food.rates == {"GBP": "1.17"}
    assert food.milestones == [
        {
            "at": 25000,
            "label": "Half",
            # an action added from the menu; the campaign keeps every field, defaults too
            "actions": [
                {
                    "do": "obs_source",
                    "scene": "",
                    "source": "Webcam",
                    "visible": False,
                    "seconds": 30,
                }
            ],
        },
        {"at": 40050, "label": "Almost", "actions": [{"do": "chat", "text": "{label} there!"}]},
    ]
