"""What the dashboard shows about the parts: status colours, the favicon, and /healthz
saying "degraded" while an enabled part is down."""

from __future__ import annotations

import re

from limelight import Plugin, hookimpl
from limelight_console import ConsolePlugin

from tests.support import free_port, wait_until


class FailingStart(Plugin):
    @hookimpl
    async def startup(self) -> None:
        raise RuntimeError("cannot start")


def state_of(page: str, element: str) -> str:
    found = re.search(rf'id="{element}" class="state-([a-z]+)"', page)
    assert found is not None, element
    return found.group(1)


async def test_status_colours_follow_the_parts_and_healthz_is_degraded(limelight) -> None:
    h = await limelight(
        plugins={"console": ConsolePlugin, "failing": FailingStart},
        config={"obs": {"enabled": True, "port": free_port(), "timeout": 1}},
    )
    await wait_until(lambda: h.services.obs.status()["status"] == "unreachable", timeout=10)
    page = await (await h.client.get("/admin/", headers=h.admin_headers)).text()
    assert state_of(page, "status-db") == "ok"
    assert state_of(page, "status-obs") == "bad"
    assert re.search(
        r'class="state-ok status-chat"><span class="status-dot"></span>connected', page
    )
    assert re.search(r'<td class="state-bad"><span class="status-dot"></span>failed', page)
    assert re.search(r'<td class="state-ok"><span class="status-dot"></span>enabled', page)
    health = await (await h.client.get("/healthz")).json()
    assert health["status"] == "degraded"
    assert any(p.startswith("obs: unreachable") for p in health["problems"])
    assert any(p.startswith("plugin failing: failed") for p in health["problems"])


async def test_obs_switched_off_is_grey_and_healthz_ok(limelight) -> None:
    h = await limelight()
    page = await (await h.client.get("/admin/", headers=h.admin_headers)).text()
    assert state_of(page, "status-obs") == "off"
    assert (await (await h.client.get("/healthz")).json())["status"] == "ok"


async def test_the_favicon_is_ours_and_every_dashboard_page_links_it(limelight) -> None:
    h = await limelight()
    response = await h.client.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/x-icon"
    body = await response.read()
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert b"\x89PNG" in body
    svg = await h.client.get("/-/static/favicon.svg")
    assert svg.status == 200 and "<svg" in await svg.text()
    for path in ("/admin/login", "/admin/"):
        page = await (await h.client.get(path, headers=h.admin_headers)).text()
        assert '<link rel="icon" href="/favicon.ico"' in page, path
    css = await (await h.client.get("/-/static/admin.css")).text()
    assert re.search(r"\ba \{ color: var\(--link\)", css)  # links readable on dark
