"""``scripts/screenshots.py`` keeps working: it starts a real server, feeds it a stream and
writes a PNG of every overlay (at its declared size) and of the main dashboard pages."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from limelight.registry import Overlay
from limelight.testing import make_settings
from limelight.web.app import build_host

from tests.support import chromium_path, need

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.browser]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_screenshot_script_renders_every_overlay_and_dashboard_page(tmp_path: Path) -> None:
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    out = tmp_path / "images"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    overlays: list[Overlay] = list(build_host(make_settings(tmp_path)).overlays.values())
    assert overlays
    for overlay in overlays:
        shot = out / f"overlay-{overlay.name}.png"
        assert png_size(shot) == (overlay.width, overlay.height), overlay.name
    for page in ("overview", "overlays", "chat", "report", "moderators", "tips"):
        width, height = png_size(out / f"dashboard-{page}.png")
        assert width == 1280 and height >= 600, page
    # (Whether the Overlays page fits 420 px is the Overlays page's own test.)
    assert png_size(out / "dashboard-overlays-narrow.png")[0] >= 420
