"""pytest fixtures for Limelight plugins, registered through the ``pytest11`` entry point.

* ``limelight_settings`` — settings on a throw-away SQLite database in ``tmp_path``.
* ``limelight`` — an async factory: ``h = await limelight(plugins={...}, config={...})``
  starts the app and returns a :class:`limelight.testing.Harness`; it is stopped after
  the test. ``entry_points=True`` also loads installed plugins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from . import Harness, _merge, make_settings, start_harness


@pytest.fixture
def limelight_settings(tmp_path: Path) -> Any:
    return make_settings(tmp_path)


@pytest.fixture
async def limelight(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    started: list[Harness] = []

    async def factory(
        plugins: dict[str, Any] | None = None,
        *,
        config: dict[str, Any] | None = None,
        entry_points: bool = False,
        database_url: str | None = None,
    ) -> Harness:
        settings = make_settings(tmp_path, _merge({}, config or {}), database_url)
        harness = await start_harness(settings, plugins, entry_points=entry_points)
        started.append(harness)
        return harness

    yield factory
    for harness in reversed(started):
        await harness.client.close()
