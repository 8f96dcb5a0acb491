"""The plugin-author guide shows the example plugin exactly as the suite installs it, and
the operations guide covers every command and settings table."""

from __future__ import annotations

from pathlib import Path

import pytest
from limelight.cli import build_parser
from limelight.config import Settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "fixtures" / "limelight-shoutout"
GUIDE = REPO / "docs" / "writing-plugins.md"
OPERATIONS = REPO / "docs" / "operations.md"

EXAMPLE_FILES = [
    "pyproject.toml",
    "limelight_shoutout/__init__.py",
    "limelight_shoutout/models.py",
    "limelight_shoutout/migrations/0001_initial.py",
    "limelight_shoutout/templates/shoutout/card.html",
    "limelight_shoutout/static/card.css",
    "tests/test_shoutout.py",
]


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_guide_shows_the_example_file_verbatim(name: str) -> None:
    content = (EXAMPLE / name).read_text(encoding="utf-8").rstrip("\n")
    assert content in GUIDE.read_text(encoding="utf-8"), (
        f"docs/writing-plugins.md does not show tests/fixtures/limelight-shoutout/{name} "
        "as it is; update the guide"
    )


def test_every_example_source_file_is_in_the_guide() -> None:
    shipped = {
        str(p.relative_to(EXAMPLE))
        for p in EXAMPLE.rglob("*")
        if p.suffix in (".py", ".html", ".css", ".toml")
        and p.stat().st_size > 0
        and "__pycache__" not in p.parts
    }
    assert shipped <= set(EXAMPLE_FILES), sorted(shipped - set(EXAMPLE_FILES))


def test_operations_guide_covers_every_command_and_section() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    for command in subparsers.choices:  # type: ignore[union-attr]
        assert f"limelight {command}" in text, f"operations.md lacks `limelight {command}`"
    for section in Settings.model_fields:
        if Settings.model_fields[section].exclude:
            continue
        assert f"[{section}" in text, f"operations.md lacks the [{section}] table"
