"""A challenge milestone's OBS actions against real OBS Studio: they happen once, however
many tips cross the milestone at the same time and however many come after."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from limelight.milestones import claims
from limelight.testing import make_tip, make_viewer
from limelight_challenges import ChallengesPlugin

from ..support import wait_until
from .real_obs import RealObs
from .test_real_obs import config_for, connected, scene_log

pytestmark = pytest.mark.obs


def submitted(h: Any) -> list[str]:
    """Every action handed to the OBS service's queue (``describe()`` of each)."""
    service = h.services.obs
    original = service.submit
    seen: list[str] = []

    def submit(action: Any, connection: str = "main") -> Any:
        seen.append(action.describe())
        return original(action, connection)

    service.submit = submit
    return seen


async def test_a_milestones_obs_actions_happen_once(limelight: Any, obs_studio: RealObs) -> None:
    challenge = {
        "key": "party",
        "title": "Party fund",
        "metric": "tips",
        "target": 100000,
        "window": "month",
        "milestones": [
            {
                "at": 1000,
                "label": "Party time",
                "actions": [
                    {"do": "obs_scene", "scene": "Big Tip"},
                    {"do": "obs_text", "source": "Label", "text": "{label}: {challenge}"},
                    {"do": "obs_source", "scene": "Scene", "source": "Box", "visible": False},
                ],
            }
        ],
    }
    config = config_for(obs_studio)
    config["plugins"] = {"challenges": {"currency": "USD", "challenges": [challenge]}}
    h = await limelight({"challenges": ChallengesPlugin}, config=config)
    await connected(h)
    scenes = scene_log(h)
    actions = submitted(h)
    # 30 tips of 1.00 at once: the tenth crosses the milestone, whichever it is.
    tips = [make_tip("1.00", "USD", make_viewer(f"v{i}")) for i in range(30)]
    await asyncio.gather(*(h.publish(t, settle=False) for t in tips))
    await h.settle()
    plugin = h.plugin("challenges", ChallengesPlugin)
    await plugin.settle()
    await wait_until(lambda: obs_studio.program_scene() == "Big Tip", timeout=15)
    assert obs_studio.input_settings("Label")["text"] == "Party time: Party fund"
    assert not obs_studio.item_enabled("Scene", "Box")
    # The streamer switches back and shows the box again; more tips change nothing.
    obs_studio.request("SetCurrentProgramScene", {"sceneName": "Scene"})
    await wait_until(lambda: scenes[-1:] == ["Scene"], timeout=10)
    await asyncio.gather(*(h.publish(make_tip("5.00", "USD"), settle=False) for _ in range(10)))
    await h.settle()
    await plugin.settle()
    [fired] = await claims("challenges")
    assert [a["state"] for a in fired["actions"]] == ["done", "done", "done"]
    assert len(actions) == 3, actions  # one scene switch, one text, one source: once
    assert scenes[-1:] == ["Scene"] and "Big Tip" not in scenes[1:]
    assert obs_studio.program_scene() == "Scene"
