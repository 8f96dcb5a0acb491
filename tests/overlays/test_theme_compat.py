"""The default theme and the alerts plugin's pages stay within what OBS 29's browser
(Chromium 103) runs, and within what the overlay pages' Content-Security-Policy allows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The page runtime (core theme) and the built-in overlay pages (alerts plugin).
STATIC = (ROOT / "overlays" / "static", ROOT / "plugins" / "limelight_alerts" / "static")
FILES = sorted(p for folder in STATIC for ext in ("*.js", "*.css") for p in folder.glob(ext))
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


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_theme_uses_nothing_newer_than_chromium_103(path: Path) -> None:
    text = re.sub(r"/\*.*?\*/", "", path.read_text("utf-8"), flags=re.DOTALL)
    text = re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE)
    for pattern, why in TOO_NEW[path.suffix[1:]]:
        found = re.search(pattern, text, re.MULTILINE)
        assert found is None, f"{path.name}: {why}: {found.group(0)!r}"
