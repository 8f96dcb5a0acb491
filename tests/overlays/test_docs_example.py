"""The plugin overlay in docs/overlays.md works exactly as printed: its files are written
out of the page, imported as a plugin, served, and driven in headless Chromium."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from limelight import Cheer
from limelight.testing import OVERLAY_TOKEN, make_viewer

from ..support import chromium_path, need

DOCS = Path(__file__).resolve().parents[2] / "docs" / "overlays.md"
#: A file of the example: its path in backticks, a colon, then its fenced code block.
FILE = re.compile(r"^`(limelight_meter/[^`]+)`:\n\n```\w+\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def example_files() -> dict[str, str]:
    return {path: body for path, body in FILE.findall(DOCS.read_text("utf-8"))}


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("docs-example")
    for path, body in example_files().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, "utf-8")
    sys.path.insert(0, str(root))
    try:
        import limelight_meter

        yield limelight_meter.Meter
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("limelight_meter", None)


def test_the_page_shows_every_file_of_the_example() -> None:
    assert sorted(example_files()) == [
        "limelight_meter/__init__.py",
        "limelight_meter/static/meter.css",
        "limelight_meter/static/meter.js",
        "limelight_meter/templates/meter/page.html",
    ]


async def test_the_example_overlay_is_served_and_fills_from_cheers(limelight, meter) -> None:
    h = await limelight(plugins={"meter": meter}, config={"plugins": {"meter": {"target": 100}}})
    page = await h.client.get(f"/overlays/meter?token={OVERLAY_TOKEN}")
    html = await page.text()
    assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/-/static-plugins/meter/meter.js"></script>' in html
    assert '<link rel="stylesheet" href="/-/static-plugins/meter/meter.css">' in html
    assert 'id="meter-fill"' in html and 'id="alert-stage"' in html
    assert (await h.client.get("/-/static-plugins/meter/meter.js")).status == 200
    overlays = h.services.overlays
    assert overlays.channel("meter").state["level"] == {"bits": 0, "target": 100}
    bob = make_viewer("Bob")
    await h.publish(Cheer(source="t", source_id="c1", viewer=bob, bits=60))
    assert overlays.channel("meter").state["level"] == {"bits": 60, "target": 100}
    await h.publish(Cheer(source="t", source_id="c2", viewer=bob, bits=50, test=True))
    [test_alert] = await overlays.history("meter")
    assert test_alert["test"] and test_alert["variation"]["text"] == "Bob filled the meter!"
    assert h.plugin("meter", meter).bits == 60  # a test cheer changes nothing the plugin keeps
    await h.publish(Cheer(source="t", source_id="c3", viewer=bob, bits=40))
    assert overlays.channel("meter").state["level"]["bits"] == 0
    kinds = [a["kind"] for a in await overlays.history("meter") if not a["test"]]
    assert kinds == ["meter.full"]
    test_id = await overlays.test_alert("meter")  # the dashboard's test alert
    assert test_id < 0


@pytest.mark.browser
async def test_the_example_page_runs_in_chromium(limelight, meter) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    h = await limelight(plugins={"meter": meter}, config={"plugins": {"meter": {"target": 200}}})
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page(viewport={"width": 600, "height": 120})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            def on_console(message: Any) -> None:
                # The browser asks for /favicon.ico on its own; no page of ours loads it.
                if message.type == "error" and "favicon" not in message.location["url"]:
                    errors.append(f"{message.text} {message.location}")

            page.on("console", on_console)
            await page.goto(h.url(f"/overlays/meter?token={OVERLAY_TOKEN}"))
            await page.wait_for_function("() => window.Limelight && window.Limelight.connected")
            await h.publish(Cheer(source="t", source_id="b1", viewer=make_viewer("Ann"), bits=50))
            await page.wait_for_function(
                "() => parseFloat(document.getElementById('meter-fill').style.width) === 25"
            )
            await h.publish(Cheer(source="t", source_id="b2", viewer=make_viewer("Ann"), bits=150))
            await page.wait_for_function(
                "() => document.querySelector('#alert-stage .alert-title').textContent"
                " === 'Ann filled the meter!'"
            )
            assert await page.evaluate("Limelight.state.level") == {"bits": 0, "target": 200}
            assert errors == []
        finally:
            await browser.close()
