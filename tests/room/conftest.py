"""Fixtures for the members' room: a server with the room and a VIP double, members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from limelight import ViewerRef
from limelight.testing import Harness, Recorder
from limelight_room import RoomPlugin

from tests.chat.conftest import fake_twitch, twitch_harness  # noqa: F401 (fixtures)

from .vip_double import FakeVip

ALICE = ViewerRef("twitch", "1001", "Alice")
BOB = ViewerRef("twitch", "1002", "Bob")
MALLORY = ViewerRef("twitch", "6666", "Mallory")

RoomHarness = Callable[..., Awaitable[tuple[Harness, RoomPlugin, FakeVip, Recorder]]]


@pytest.fixture
def room_harness(limelight: Any, database_url: str) -> RoomHarness:
    """``h, room, vip, rec = await room_harness(config=..., plugins=...)``."""

    async def start(
        *, config: dict[str, Any] | None = None, plugins: dict[str, Any] | None = None
    ) -> tuple[Harness, RoomPlugin, FakeVip, Recorder]:
        rec = Recorder()
        cfg = {"plugins": {"room": config or {}}}
        h = await limelight(
            {"vip": FakeVip, "room": RoomPlugin, "rec": rec, **(plugins or {})},
            config=cfg,
            database_url=database_url,
        )
        return h, h.plugin("room", RoomPlugin), h.plugin("vip", FakeVip), rec

    return start


async def make_member(
    vip: FakeVip, viewer: ViewerRef, tier: str = "silver", days: int | None = 30
) -> None:
    await vip.grant(
        viewer,
        tier,
        duration=timedelta(days=days) if days else None,
        source="test",
        source_id=f"{viewer.id}-{tier}",
    )


def room_path(room: RoomPlugin, viewer: ViewerRef) -> str:
    token = room.passes.token_for(viewer)
    assert token is not None
    return f"/room/{token}"
