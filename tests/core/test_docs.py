"""The plugin-author guide shows the example plugin exactly as the suite installs it, the
event reference is generated from the event classes, and the operations guide covers every
command and settings table."""

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


# -- docs/events.md ------------------------------------------------------------------------------

EVENTS_PAGE = REPO / "docs" / "events.md"


def test_events_page_is_generated_from_the_models() -> None:
    from limelight.eventdocs import render

    assert EVENTS_PAGE.read_text(encoding="utf-8") == render(), (
        "docs/events.md is stale: run `python -m limelight.eventdocs > docs/events.md`"
    )


def test_events_page_lists_every_event_type_and_field_with_a_description() -> None:
    from limelight.eventdocs import data_fields, describe, field_comments
    from limelight.events import EVENT_TYPES

    text = EVENTS_PAGE.read_text(encoding="utf-8")
    comments = field_comments()
    undescribed = []
    for name, cls in EVENT_TYPES.items():
        assert f"## `{name}`" in text
        for f in data_fields(cls):
            assert f"| `{f.name}` |" in text
            if not describe(cls, f.name, comments):
                undescribed.append(f"{cls.__name__}.{f.name}")
    assert not undescribed, f"give these fields a `#:` comment in events.py: {undescribed}"
    # The money flag reaches the page: a money type is listed as one.
    assert "| [`tip`](#tip) | `limelight.Tip` | yes |" in text
    assert "| [`raid`](#raid) | `limelight.Raid` | no |" in text
