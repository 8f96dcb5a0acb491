"""The wheel works on its own: built, installed into a fresh venv, run from there.

The editable checkout must not be the only way Limelight works, and a third party's plugin
must be found through the ``limelight`` entry-point group of a real installed distribution.
One venv (``installed_venv``) serves most tests here; it also holds the example plugin
``limelight-shoutout`` and its broken twin ``limelight-broken``. ``limelight-hype``, the
plugin written from docs/writing-plugins.md alone, gets a venv of its own (with mypy), so
the shared one stays as the other tests expect it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Venv, _pip
from tests.core.procs import running_server

pytestmark = pytest.mark.slow

HYPE = FIXTURES / "limelight-hype"


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
    assert shoutout["status"] == "ready", shoutout  # checked without starting it
    assert shoutout["version"] == "0.1.0"
    assert shoutout["origin"] == "limelight-shoutout 0.1.0"
    assert {
        "register_overlays",
        "register_models",
        "register_jobs",
        "on_event",
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
        assert health["db"] == {"ok": True, "backend": "sqlite", "error": "", "writable": True}
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


# -- limelight-hype: a plugin written from docs/writing-plugins.md alone ----------------------


@pytest.fixture(scope="module")
def hype_venv(installed_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with Limelight's wheel, the ``limelight-hype`` wheel built from
    ``tests/fixtures/limelight-hype`` like any third party's, pytest and mypy."""
    root = tmp_path_factory.mktemp("hype")
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    _pip(sys.executable, "wheel", HYPE, "--no-deps", *isolation, "-w", root / "dist", cwd=root)
    (wheel,) = (root / "dist").glob("limelight_hype-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    venv = Venv(root=root / "venv", wheel=wheel)
    _pip(
        venv.python,
        "install",
        installed_venv.wheel,
        wheel,
        "pytest>=8",
        "pytest-aiohttp>=1.1",
        "pytest-asyncio>=1.0",
        "mypy>=1.11",
        cwd=root,
    )
    return venv


def _plugin_project(tmp_path: Path) -> Path:
    """The hype plugin's tests and pyproject (its pytest and mypy settings), without its
    source: what they import must come from the installed wheels."""
    shutil.copytree(HYPE / "tests", tmp_path / "tests")
    shutil.copy(HYPE / "pyproject.toml", tmp_path)
    return tmp_path


def test_hype_plugin_passes_its_own_tests_against_the_installed_wheels(
    hype_venv: Venv, tmp_path: Path
) -> None:
    project = _plugin_project(tmp_path)
    result = hype_venv.run(
        hype_venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
        cwd=project, check=False, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_hype_plugin_is_strictly_typed_against_the_installed_limelight(
    hype_venv: Venv, tmp_path: Path
) -> None:
    project = _plugin_project(tmp_path)
    # The installed package (found through its py.typed), then its tests importing it.
    for target in (["-p", "limelight_hype"], ["tests"]):
        result = hype_venv.run(
            hype_venv.python, "-m", "mypy", "--strict", *target,
            cwd=project, check=False, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Success: no issues found" in result.stdout


def test_hype_plugin_is_found_through_its_entry_point(hype_venv: Venv, tmp_path: Path) -> None:
    out = hype_venv.run(hype_venv.limelight, "plugins", "--json", cwd=tmp_path).stdout
    plugins = {p["name"]: p for p in json.loads(out)["plugins"]}
    assert plugins["hype"]["status"] == "ready", plugins["hype"]
    assert plugins["hype"]["origin"] == "limelight-hype 0.1.0"


def _config_value(path: Path, key: str) -> str:
    import tomllib

    return tomllib.loads(path.read_text())["security"][key]
