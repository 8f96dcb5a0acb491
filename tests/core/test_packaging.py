"""The wheel works on its own: built, installed into a fresh venv, run from there.

The editable checkout must not be the only way Limelight works, and a third party's plugin
must be found through the ``limelight`` entry-point group of a real installed distribution.
One venv (``installed_venv``) serves every test here; it also holds the example plugin
``limelight-shoutout`` and its broken twin ``limelight-broken``.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Venv
from tests.core.procs import running_server

pytestmark = pytest.mark.slow


def test_wheel_ships_theme_example_config_and_test_kit(installed_venv: Venv) -> None:
    names = set(zipfile.ZipFile(installed_venv.wheel).namelist())
    assert "limelight/config.example.toml" in names
    assert any(n.startswith("limelight/theme/") for n in names), "overlay theme missing"
    assert "limelight/testing/pytest_plugin.py" in names
    assert "limelight/migrations/0001_initial.py" in names
    assert "limelight/web/templates/admin/index.html" in names
    assert "limelight/web/static/admin.js" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(installed_venv.wheel).read(entry_points).decode()
    assert "limelight = limelight.cli:main" in text
    assert "limelight = limelight.testing.pytest_plugin" in text


def test_installed_package_is_the_wheel_not_the_checkout(
    installed_venv: Venv, tmp_path: Path
) -> None:
    out = installed_venv.run(
        installed_venv.python,
        "-c",
        "import limelight, limelight.resources as r; print(limelight.__file__); "
        "print(r.theme_dir()); print(r.example_config())",
        cwd=tmp_path,
    ).stdout.split()
    assert all(str(installed_venv.root) in line for line in out), out
    assert Path(out[1]).is_dir() and Path(out[2]).is_file()


def test_installed_cli_help_lists_every_command(installed_venv: Venv, tmp_path: Path) -> None:
    out = installed_venv.run(installed_venv.limelight, "--help", cwd=tmp_path).stdout
    for command in ("init", "run", "plugins", "simulate", "doctor"):
        assert command in out


def test_installed_plugins_json_shows_example_and_broken_twin(
    installed_venv: Venv, tmp_path: Path
) -> None:
    out = installed_venv.run(installed_venv.limelight, "plugins", "--json", cwd=tmp_path).stdout
    plugins = {p["name"]: p for p in json.loads(out)["plugins"]}

    shoutout = plugins["shoutout"]
    assert shoutout["status"] == "enabled", shoutout
    assert shoutout["version"] == "0.1.0"
    assert shoutout["origin"] == "limelight-shoutout 0.1.0"
    assert {
        "register_overlays",
        "register_models",
        "register_jobs",
        "on_event",
        "register_config_model",
        "register_routes",
        "register_commands",
    } <= set(shoutout["hooks"])

    broken_import = plugins["broken_import"]
    assert broken_import["status"] == "failed"
    assert "failed to import" in broken_import["reason"]
    assert "limelight_shoutout_helpers" in broken_import["reason"]
    assert broken_import["origin"] == "limelight-broken 0.1.0"

    broken_hook = plugins["broken_hook"]
    assert broken_hook["status"] == "failed"
    assert "check_pending" in broken_hook["reason"]


def test_installed_server_serves_healthz_and_the_example_plugin(
    installed_venv: Venv, tmp_path: Path
) -> None:
    installed_venv.run(installed_venv.limelight, "init", "--dir", tmp_path, cwd=tmp_path)
    config = tmp_path / "config.toml"
    admin = _config_value(config, "admin_token")
    overlay = _config_value(config, "overlay_token")
    with running_server(
        config, tmp_path, command=[str(installed_venv.limelight)], env=installed_venv.env()
    ) as server:
        status, health = server.get("/healthz")
        assert status == 200 and health["status"] == "degraded"  # the broken twin failed
        assert health["db"] == {"ok": True, "backend": "sqlite", "error": ""}
        by_name = {p["name"]: p["status"] for p in health["plugins"]}
        assert {k: by_name.get(k) for k in ("shoutout", "broken_import", "broken_hook")} == {
            "shoutout": "enabled",
            "broken_import": "failed",
            "broken_hook": "failed",
        }
        assert admin not in json.dumps(health) and overlay not in json.dumps(health)

        # The example's model was migrated and its admin route answers.
        assert server.get("/api/shoutout/recent")[0] == 401
        assert server.get("/api/shoutout/recent", admin) == (200, {"shoutouts": []})
        status, listing = server.get("/-/plugins.json", admin)
        assert status == 200
        assert {p["name"] for p in listing["plugins"]} == set(by_name)
        page = server.get_text(f"/overlays/shoutout?token={overlay}")
        assert "/-/static-plugins/shoutout/card.css" in page

        code = server.stop()
        output = server.output()
    assert code == 0, output
    assert f"dashboard: http://127.0.0.1:{server.port}/admin/" in output
    assert f"/overlays/shoutout?token={overlay}" in output
    assert (tmp_path / "data" / "limelight.sqlite3").is_file()


def test_example_plugin_own_tests_pass_against_the_installed_wheel(
    installed_venv: Venv, tmp_path: Path
) -> None:
    """The tests of docs/writing-plugins.md run with the test kit from the wheel."""
    tests = tmp_path / "tests"
    shutil.copytree(FIXTURES / "limelight-shoutout" / "tests", tests)
    shutil.copy(FIXTURES / "limelight-shoutout" / "pyproject.toml", tmp_path)
    result = installed_venv.run(
        installed_venv.python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests",
        cwd=tmp_path,
        check=False,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout


def _config_value(path: Path, key: str) -> str:
    import tomllib

    return tomllib.loads(path.read_text())["security"][key]
