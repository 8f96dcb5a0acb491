"""The plugin in docs/commands.md runs as shown: its examples pass, the moderator-only
command and the config-driven cooldown behave as the page says."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from limelight.chat import ManualClock
from limelight.testing import Harness, run_examples
from limelight.testing.pytest_plugin import StartHarness

PAGE = Path(__file__).resolve().parents[2] / "docs" / "commands.md"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The page's first Python block, imported as a module (as a plugin package would be)."""
    code = re.search(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    assert code is not None, "docs/commands.md has no python example"
    path = tmp_path / "commands_doc_example.py"
    path.write_text(code.group(1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("commands_doc_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


async def reply(
    h: Harness, text: str, user: str = "alice", roles: set[str] | None = None
) -> str | None:
    before = h.chat.sent_count
    await h.chat_as(user, text, roles=roles or set())
    new = h.chat.sent_since(before)
    return new[-1].text if new else None


async def test_the_documented_plugin_passes_its_examples(
    limelight: StartHarness, example: ModuleType
) -> None:
    h = await limelight(plugins={"points": example.PointsPlugin})
    assert h.host.info["points"].enabled, h.host.info["points"].reason
    assert await run_examples(h, "points") == []


async def test_the_documented_plugin_behaves_as_described(
    limelight: StartHarness, example: ModuleType
) -> None:
    h = await limelight(
        plugins={"points": example.PointsPlugin},
        config={"plugins": {"points": {"points_cooldown": 30, "max_give": 10}}},
    )
    clock = ManualClock()
    h.chat.set_clock(clock)
    assert await reply(h, "!give @Bob 7") == "!give is for moderators only."
    assert await reply(h, "!give @Bob 7", roles={"moderator"}) == "Gave Bob 7 points."
    assert await reply(h, "!give bob 11", roles={"moderator"}) == (
        "Usage: !give <who> <points> (points must be at most 10)"
    )
    assert await reply(h, "!balance", user="bob") == "bob has 7 points."
    assert await reply(h, "!points") is None  # the cooldown from [plugins.points]
    clock.advance(30)
    assert await reply(h, "!points") == "alice has 0 points."
