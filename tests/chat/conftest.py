"""Fixtures for the chat tests: the fake Twitch and a harness wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from limelight.testing import TEST_CONNECTOR, Harness, Recorder
from limelight_twitch import TwitchPlugin

from tests.support import wait_until

from .fake_twitch import FakeTwitch

#: Fast timings so reconnects take milliseconds, not seconds.
FAST = {"reconnect_min": 0.01, "reconnect_max": 0.05, "login_timeout": 5.0, "keepalive_grace": 0.2}


@pytest.fixture
async def fake_twitch() -> AsyncIterator[FakeTwitch]:
    fake = await FakeTwitch().start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def twitch_harness(limelight: Any, fake_twitch: FakeTwitch) -> Callable[..., Awaitable[Any]]:
    """``h, rec, conn = await twitch_harness(plugins=..., options=..., twitch=...)``: a server
    whose Twitch connector talks to the fake, joined and subscribed. ``twitch`` overrides
    the account keys, ``options`` the fine-tuning; both end up in ``[plugins.twitch]``."""

    async def start(
        plugins: dict[str, Any] | None = None,
        *,
        options: dict[str, Any] | None = None,
        twitch: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        wait_eventsub: bool = True,
    ) -> tuple[Harness, Recorder, Any]:
        rec = Recorder()
        table = {**fake_twitch.config(**(twitch or {})), **FAST, **(options or {})}
        cfg = {"plugins": {"twitch": table}, **(config or {})}
        h = await limelight(
            plugins={"twitch": TwitchPlugin, "rec": rec, **(plugins or {})}, config=cfg
        )
        # The test kit's own connector also says it is "twitch"; here the real one speaks.
        await h.services.chat.detach(TEST_CONNECTOR)
        conn = h.services.chat.connectors["twitch"]
        await wait_until(lambda: conn.joined, timeout=5)
        if wait_eventsub and conn.config.eventsub:
            await wait_until(lambda: conn.es_state == "connected", timeout=5)
        return h, rec, conn

    return start
