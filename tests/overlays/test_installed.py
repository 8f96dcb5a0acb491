"""The overlays work from the installed wheel: the default theme (base page and runtime)
and the built-in alerts plugin with its own pages and static files ship inside it."""

from __future__ import annotations

import json
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Venv
from tests.core.procs import running_server

pytestmark = pytest.mark.slow


def test_wheel_ships_the_overlay_theme_and_the_alerts_plugin(installed_venv: Venv) -> None:
    names = set(zipfile.ZipFile(installed_venv.wheel).namelist())
    assert "limelight/theme/templates/base.html" in names
    for name in ("overlay.js", "overlay.css", "img/star.svg"):
        assert f"limelight/theme/static/{name}" in names
    assert "limelight_alerts/__init__.py" in names
    for name in ("alerts", "chat", "goal", "leaderboard", "ticker"):
        assert f"limelight_alerts/templates/alerts/{name}.html" in names
        assert f"limelight/theme/templates/{name}.html" not in names
    for name in ("alerts.css", "chat.js", "goal.js", "leaderboard.js", "ticker.js"):
        assert f"limelight_alerts/static/{name}" in names
    assert "limelight/migrations/0002_overlay_alerts.py" in names
    assert "limelight/web/static/overlays-admin.js" in names
    assert "limelight/web/templates/admin/overlays.html" in names


def test_installed_server_serves_overlays(installed_venv: Venv, tmp_path: Path) -> None:
    installed_venv.run(installed_venv.limelight, "init", "--dir", tmp_path, cwd=tmp_path)
    config = tmp_path / "config.toml"
    text = config.read_text()
    admin = text.split('admin_token = "', 1)[1].split('"', 1)[0]
    overlay = text.split('overlay_token = "', 1)[1].split('"', 1)[0]
    with running_server(
        config, tmp_path, command=[str(installed_venv.limelight)], env=installed_venv.env()
    ) as server:
        status, health = server.get("/healthz")
        assert {p["name"]: p["status"] for p in health["plugins"]}["alerts"] == "enabled"
        page = server.get_text(f"/overlays/alerts?token={overlay}")
        assert '<script src="/-/theme/overlay.js"></script>' in page
        assert "Limelight" in server.get_text("/-/theme/overlay.js")
        chat = server.get_text(f"/overlays/chat?token={overlay}")
        assert '<script src="/-/static-plugins/alerts/chat.js"></script>' in chat
        assert "chat-lines" in server.get_text("/-/static-plugins/alerts/chat.js")
        request = urllib.request.Request(
            server.base + "/api/overlays/alerts/test",
            method="POST",
            data=b"",
            headers={"Authorization": f"Bearer {admin}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201 and json.loads(response.read())["id"] < 0
        status, listing = server.get("/api/overlays", admin)
        assert status == 200
        assert {o["name"] for o in listing["overlays"]} >= {
            "alerts",
            "chat",
            "leaderboard",
            "goal",
            "ticker",
        }
        assert server.stop() == 0
