"""Against real OBS Studio: the shop's !next brings the guest on (scene and name source)."""

from __future__ import annotations

import pytest

from tests.shop.conftest import shop  # noqa: F401  (the shop fixture)
from tests.shop.test_guests import _paid_guest, _session

from ..support import wait_until
from .conftest import obs_config

pytestmark = pytest.mark.obs


async def test_next_switches_obs_to_the_guest_scene_and_names_the_guest(shop, obs_studio) -> None:  # noqa: F811
    config = {
        **obs_config(obs_studio.port, password=obs_studio.password),
        "plugins": {"shop": {"guest_scene": "Other", "guest_name_source": "Label"}},
    }
    s = await shop(config)
    await wait_until(lambda: s.h.services.obs.is_connected(), timeout=15)
    await _session(s, slots=2)
    await _paid_guest(s, "Guest<b>Star</b>")
    await s.h.chat_as("streamer", "!next", roles={"broadcaster"})
    assert s.h.said[-1].text == "Now on stream with us: Guest<b>Star</b>!"
    await wait_until(lambda: obs_studio.program_scene() == "Other", timeout=10)
    await wait_until(
        lambda: obs_studio.input_settings("Label").get("text") == "Guest<b>Star</b>", timeout=10
    )
