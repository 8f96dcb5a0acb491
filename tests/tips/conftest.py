"""Fixtures for the tips suite: a server with the tips (and alerts) plugins and a spy on
the alerts it queues."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from limelight import NoConfig, Plugin, hookimpl
from limelight.overlays import NewAlert
from limelight.testing import Harness, merge_config
from limelight_alerts import AlertsPlugin
from limelight_tips import TipsPlugin

from .doubles import WEBHOOK_CONFIG


class AlertSpy(Plugin[NoConfig]):
    """Every alert handed to the overlay service (it still goes through), as the keyword
    arguments of ``overlays.alert`` plus ``overlay`` (one entry per alert of a batch
    queued with ``overlays.alerts``).

    A plugin, so it is in place from ``startup`` on: an alert for an event the bus replays
    as the server starts is seen too. Tips tests read what the plugin *asked* for (one
    call per alert, even one the outbox would drop as a duplicate), which the overlays'
    history cannot tell."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    async def startup(self) -> None:
        service = self.ctx.overlays
        original = service.alert

        async def alert(overlay: str, **kwargs: Any) -> int:
            self.calls.append({"overlay": overlay, **kwargs})
            return await original(overlay, **kwargs)

        service.alert = alert  # type: ignore[method-assign]
        original_many = service.alerts

        async def alerts(overlay: str, new: list[NewAlert], *, tx: Any) -> list[int]:
            for a in new:
                self.calls.append(
                    {
                        "overlay": overlay,
                        "kind": a.kind,
                        "data": a.data,
                        "test": False,
                        "event": a.event,
                        "variation": a.variation,
                        "tx": tx,
                    }
                )
            return await original_many(overlay, new, tx=tx)

        service.alerts = alerts  # type: ignore[method-assign]

    def of(self, kind: str = "tip") -> list[dict[str, Any]]:
        return [c for c in self.calls if c["kind"] == kind]


@dataclass
class Tips:
    h: Harness
    alerts: AlertSpy

    @property
    def plugin(self) -> TipsPlugin:
        """The tips plugin object this server created (its parts: ``recorder``, ...)."""
        plugin = self.h.host.plugin("tips")
        assert isinstance(plugin, TipsPlugin)
        return plugin

    async def post(
        self, provider: str, body: bytes, headers: dict[str, str], settle: bool = True
    ) -> tuple[int, Any]:
        response = await self.h.client.post(f"/webhooks/{provider}", data=body, headers=headers)
        payload = await response.json()
        if settle:
            await self.h.settle()
        return response.status, payload

    async def entries(self, **query: str) -> list[dict[str, Any]]:
        response = await self.h.client.get(
            "/api/tips/entries", params=query, headers=self.h.admin_headers
        )
        assert response.status == 200, await response.text()
        return (await response.json())["entries"]

    async def events(self) -> list[dict[str, Any]]:
        response = await self.h.client.get(
            "/api/events", params={"limit": "500"}, headers=self.h.admin_headers
        )
        return (await response.json())["events"]


@pytest.fixture
def tips(limelight: Callable[..., Awaitable[Harness]]) -> Callable[..., Awaitable[Tips]]:
    async def start(
        config: dict[str, Any] | None = None,
        *,
        database_url: str | None = None,
        webhooks: bool = True,
    ) -> Tips:
        base = merge_config(
            WEBHOOK_CONFIG if webhooks else {},
            {"plugins": {"tips": {"thanks_window": 0, "kofi_page": "https://ko-fi.com/streamer"}}},
        )
        spy = AlertSpy()
        h = await limelight(
            plugins={"tips": TipsPlugin, "alerts": AlertsPlugin, "alert_spy": spy},
            config=merge_config(base, config or {}),
            database_url=database_url,
        )
        assert h.host.info["tips"].enabled, h.host.info["tips"].reason
        return Tips(h, spy)

    return start
