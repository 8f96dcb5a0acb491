"""Fixtures for the VIP suite: a server with vip, tips (Ko-fi) and alerts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from limelight import MembershipChanged
from limelight.testing import Harness, Recorder, merge_config
from limelight_alerts import AlertsPlugin
from limelight_tips import TipsPlugin
from limelight_vip import VipPlugin
from limelight_vip.models import Membership

from tests.chat.conftest import fake_twitch  # noqa: F401 (a fixture)
from tests.tips.doubles import WEBHOOK_CONFIG

from .doubles import WEBHOOKS


@dataclass
class Vip:
    h: Harness
    rec: Recorder

    @property
    def plugin(self) -> VipPlugin:
        return self.h.plugin("vip", VipPlugin)

    async def post(self, provider: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = await self.h.client.post(f"/webhooks/{provider}", data=body, headers=headers)
        text = await response.text()
        await self.h.settle()
        return response.status, text

    def changes(self, status: str | None = None) -> list[MembershipChanged]:
        found = self.rec.of_type(MembershipChanged)
        return [c for c in found if status is None or c.status == status]

    @staticmethod
    async def rows(**query: Any) -> list[Membership]:
        return await Membership.filter(**query).order_by("id")


@pytest.fixture
def vip(limelight: Callable[..., Awaitable[Harness]]) -> Callable[..., Awaitable[Vip]]:
    async def start(
        config: dict[str, Any] | None = None,
        *,
        database_url: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Vip:
        rec = Recorder()
        base = merge_config(WEBHOOK_CONFIG, WEBHOOKS)
        base = merge_config(base, {"plugins": {"tips": {"thanks_window": 0}}})
        h = await limelight(
            plugins={
                "vip": VipPlugin,
                "tips": TipsPlugin,
                "alerts": AlertsPlugin,
                "rec": rec,
                **(extra or {}),
            },
            config=merge_config(base, config or {}),
            database_url=database_url,
        )
        assert h.host.info["vip"].enabled, h.host.info["vip"].reason
        return Vip(h, rec)

    return start
