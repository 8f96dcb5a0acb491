"""Fixtures for the challenges suite: a server with the challenges plugin and a clock the
test moves (no sleeping: windows roll over when the test says the time has come)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from limelight.testing import Harness, merge_config
from limelight_challenges import ChallengesPlugin

#: A Wednesday, so "this week" runs Monday 2026-11-30 to Monday 2026-12-07.
START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class TestClock:
    """The plugin's clock: moves only when a test moves it."""

    __test__ = False

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when


@dataclass
class Challenges:
    h: Harness
    clock: TestClock

    @property
    def plugin(self) -> ChallengesPlugin:
        return self.h.plugin("challenges", ChallengesPlugin)

    async def settle(self) -> None:
        await self.h.settle()
        await self.plugin.settle()
        await self.h.settle()

    async def run_due_roll(self) -> None:
        """What the scheduler does at the boundary: run the roll job it holds."""
        await self.plugin.roll()
        await self.settle()

    def said(self) -> list[str]:
        return [m.text for m in self.h.said]

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.h.client.request(
            method, path, json=body, headers=self.h.admin_headers
        )
        return response.status, await response.json()


def weekly_tips(**overrides: Any) -> dict[str, Any]:
    challenge: dict[str, Any] = {
        "key": "tips-week",
        "title": "Tips this week",
        "metric": "tips",
        "target": 10000,
        "window": "week",
        "milestones": [
            {
                "at": 2500,
                "label": "Quarter",
                "actions": [{"do": "chat", "text": "{label} of {challenge}: {total}!"}],
            },
            {
                "at": 5000,
                "label": "Half",
                "actions": [{"do": "chat", "text": "{label} of {challenge}: {total}!"}],
            },
        ],
        "rewards": [{"do": "badge", "badge": "challenger"}],
    }
    challenge.update(overrides)
    return challenge


StartChallenges = Callable[..., Awaitable[Challenges]]


@pytest.fixture
def challenges(limelight: Any) -> StartChallenges:
    async def start(
        *items: dict[str, Any],
        config: dict[str, Any] | None = None,
        database_url: str | None = None,
        plugins: dict[str, Any] | None = None,
        clock: TestClock | None = None,
        **plugin_config: Any,
    ) -> Challenges:
        the_clock = clock or TestClock()
        plugin = ChallengesPlugin()
        plugin.clock = the_clock

        settings = merge_config(
            {
                "plugins": {
                    "challenges": {
                        "currency": "EUR",
                        "rates": {"USD": "0.5"},
                        "challenges": list(items),
                        **plugin_config,
                    }
                }
            },
            config or {},
        )
        h = await limelight(
            {"challenges": plugin, **(plugins or {})},
            config=settings,
            database_url=database_url,
        )
        return Challenges(h, the_clock)

    return start
