"""Fixtures for the OBS tests: the protocol fake, and real OBS Studio under Xvfb."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..support import need
from .fake_obs import FakeObs
from .real_obs import RealObs, obs_available

FAKE_PASSWORD = "fake-secret-pw"


@pytest.fixture
def fake_obs() -> Iterator[FakeObs]:
    fake = FakeObs(FAKE_PASSWORD).start()
    fake.add_scene("Big Tip")
    fake.add_scene("Other")
    fake.add_input("Scene", "Merch Drop", "image_source", {"file": "/tmp/drop.png"}, enabled=False)
    fake.add_input("Scene", "Total", "text_ft2_source_v2", {"text": "0.00"})
    fake.add_input("Scene", "Alert Video", "ffmpeg_source", {"local_file": "/tmp/a.webm"})
    fake.add_input(
        "Scene",
        "Goal Page",
        "browser_source",
        {"url": "http://example.invalid/", "width": 800, "height": 600},
    )
    fake.add_filter("Total", "Glow", enabled=False)
    try:
        yield fake
    finally:
        fake.stop()


def obs_config(port: int, password: str = FAKE_PASSWORD, **extra: Any) -> dict[str, Any]:
    """``[obs]`` settings for a Harness pointed at ``port``."""
    return {
        "obs": {
            "enabled": True,
            "host": "127.0.0.1",
            "port": port,
            "password": password,
            "timeout": 2.0,
            **extra,
        }
    }


@pytest.fixture(scope="session")
def real_obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealObs]:
    """One OBS Studio for the whole session (it takes seconds to start); tests that kill
    it start it again, so it is always up when a test begins."""
    need(obs_available(), "OBS Studio (obs-studio) and xvfb-run are not installed")
    obs = RealObs(tmp_path_factory.mktemp("obs-home"))
    obs.start()
    try:
        yield obs
    finally:
        obs.stop()


@pytest.fixture
def obs_studio(real_obs: RealObs) -> RealObs:
    """The session's OBS, running, with the test scenes reset to a known state."""
    if not real_obs.running:
        real_obs.start()
    real_obs.reset_scenes()
    return real_obs
