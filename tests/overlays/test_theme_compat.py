"""The default theme stays within what OBS 29's browser (Chromium 103) runs, and within
what the overlay pages' Content-Security-Policy allows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

THEME = Path(__file__).resolve().parents[2] / "overlays" / "static"
#: Features newer than Chromium 103 (OBS 29's browser source) or not allowed by our CSP.
TOO_NEW = {
    "css": [
        (r":has\(", ":has() (Chromium 105)"),
        (r"@container", "container queries (105)"),
        (r"color-mix\(", "color-mix() (111)"),
        (r"^\s*&", "CSS nesting (112)"),
    ],
    "js": [
        (r"^\s*await\b", "top-level await in a classic script"),
        (r"^\s*(import|export)\s", "ES modules (the page loads classic scripts)"),
        (r"Object\.groupBy|\.toSorted\(|\.toReversed\(|\.with\(", "ES2023+ methods"),
        (
            r"\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write",
            "HTML insertion: viewer text goes in with textContent only",
        ),
        (r"\beval\(|new Function\(", "eval"),
    ],
}


@pytest.mark.parametrize(
    "path", sorted(THEME.glob("*.js")) + sorted(THEME.glob("*.css")), ids=lambda p: p.name
)
def test_theme_uses_nothing_newer_than_chromium_103(path: Path) -> None:
    text = re.sub(r"/\*.*?\*/", "", path.read_text("utf-8"), flags=re.DOTALL)
    text = re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE)
    for pattern, why in TOO_NEW[path.suffix[1:]]:
        found = re.search(pattern, text, re.MULTILINE)
        assert found is None, f"{path.name}: {why}: {found.group(0)!r}"
