"""The action editors' suggestions come from the OBS that is running: its scenes and
sources, and which of those are text sources (``GET /api/milestones/choices``)."""

from __future__ import annotations

from typing import Any

import pytest

from ..support import wait_until
from .real_obs import RealObs
from .test_real_obs import config_for, connected

pytestmark = pytest.mark.obs

NOTHING = {"connected": False, "scenes": [], "sources": [], "text_sources": []}


async def test_the_choices_list_obs_scenes_and_sources(limelight: Any, obs_studio: RealObs) -> None:
    h = await limelight(config=config_for(obs_studio))
    await connected(h)
    response = await h.client.get("/api/milestones/choices", headers=h.admin_headers)
    assert response.status == 200, await response.text()
    obs = (await response.json())["obs"]
    assert obs["connected"] is True
    assert {"Scene", "Big Tip", "Other"} <= set(obs["scenes"])
    assert {"Label", "Box"} <= set(obs["sources"])
    assert "Label" in obs["text_sources"] and "Box" not in obs["text_sources"]
    # OBS closed: the page still opens, with nothing to suggest (the next test that needs
    # OBS starts it again).
    obs_studio.stop()
    await wait_until(lambda: not h.services.obs.is_connected(), timeout=15)
    body = await (await h.client.get("/api/milestones/choices", headers=h.admin_headers)).json()
    assert body["obs"] == NOTHING
