"""pytest fixtures for Limelight plugins, registered through the ``pytest11`` entry point.

* ``limelight_settings`` — settings on a throw-away SQLite database in ``tmp_path``.
* ``limelight`` — an async factory: ``h = await limelight(plugins={...}, config={...})``
  starts the app and returns a :class:`limelight.testing.Harness`; whatever is still
  running is closed after the test. ``entry_points=True`` also loads installed plugins.

The rules (settings come from the test alone, one harness at a time, what ``publish``
waits for) are in :mod:`limelight.testing`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ..config import Settings
from . import Harness, make_settings, start_harness


class StartHarness:
    """The ``limelight`` fixture: start a harness (see :func:`limelight.testing.make_settings`
    for ``config``, ``config_file`` and ``environ``); :meth:`close` closes every harness it
    started, newest first."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._started: list[Harness] = []

    async def __call__(
        self,
        plugins: Mapping[str, object] | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        entry_points: bool = False,
        database_url: str | None = None,
        config_file: Path | str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Harness:
        settings = make_settings(
            self._tmp_path, config, database_url, config_file=config_file, environ=environ
        )
        harness = await start_harness(settings, plugins, entry_points=entry_points, environ=environ)
        self._started.append(harness)
        return harness

    async def close(self) -> None:
        for harness in reversed(self._started):
            await harness.close()


@pytest.fixture
def limelight_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def limelight(tmp_path: Path) -> AsyncIterator[StartHarness]:
    start = StartHarness(tmp_path)
    yield start
    await start.close()
