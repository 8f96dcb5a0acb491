"""Fixtures for the charity suite: a server with the charity plugin (and alerts, tips), a
campaign running now, and helpers to post Tiltify deliveries and read the ledger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from limelight.testing import Harness, Recorder, merge_config
from limelight_alerts import AlertsPlugin
from limelight_charity import CharityPlugin
from limelight_charity.models import CharityEntry
from limelight_tips import TipsPlugin

from .doubles import TILTIFY_CAMPAIGN, TILTIFY_SECRET


def campaign(**over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "id": "pandas-2026",
        "title": "Pandas need bamboo",
        "cause": "WWF",
        "cause_url": "https://www.worldwildlife.org/donate",
        "goal": "1000.00",
        "currency": "EUR",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
        "rates": {"USD": "0.90"},
        "tiltify_campaign_id": TILTIFY_CAMPAIGN,
        "milestones": [
            {"at": 10000, "label": "Hair dye", "actions": []},
            {"at": 50000, "label": "Spicy food", "actions": []},
        ],
    }
    base.update(over)
    return base


@dataclass
class Charity:
    h: Harness
    events: Recorder

    @property
    def plugin(self) -> CharityPlugin:
        plugin = self.h.host.plugin("charity")
        assert isinstance(plugin, CharityPlugin)
        return plugin

    async def post(
        self, body: bytes, headers: dict[str, str], settle: bool = True
    ) -> tuple[int, Any]:
        response = await self.h.client.post("/webhooks/tiltify", data=body, headers=headers)
        text = await response.text()
        if settle:
            await self.h.settle()
        try:
            import json

            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    async def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = await self.h.client.request(method, path, headers=self.h.admin_headers, **kwargs)
        await self.h.settle()
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()

    async def rows(self) -> list[CharityEntry]:
        return await CharityEntry.all().order_by("id")


@pytest.fixture
def charity(limelight: Callable[..., Awaitable[Harness]]) -> Callable[..., Awaitable[Charity]]:
    async def start(
        config: dict[str, Any] | None = None,
        *,
        database_url: str | None = None,
        campaigns: list[dict[str, Any]] | None = None,
    ) -> Charity:
        base = {
            "webhooks": {"tiltify": {"secret": TILTIFY_SECRET}},
            "plugins": {
                "charity": {"campaigns": [campaign()] if campaigns is None else campaigns},
                "tips": {"thanks_window": 0},
            },
        }
        recorder = Recorder()
        h = await limelight(
            plugins={
                "charity": CharityPlugin,
                "alerts": AlertsPlugin,
                "tips": TipsPlugin,
                "recorder": recorder,
            },
            config=merge_config(base, config or {}),
            database_url=database_url,
        )
        assert h.host.info["charity"].enabled, h.host.info["charity"].reason
        return Charity(h, recorder)

    return start
