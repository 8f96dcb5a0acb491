"""The ``limelight`` command as a real process: startup failures, SIGTERM, URLs, simulate,
doctor, plugins.

Failures must exit non-zero within 5 s with a one-line cause: every subprocess here runs
under a 5 s timeout, so a hang fails the test instead of being measured.
"""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap
from pathlib import Path

import pytest
from limelight.testing import ADMIN_TOKEN, OVERLAY_TOKEN

from tests.core.procs import clean_env, cli, running_server
from tests.support import free_port

pytestmark = pytest.mark.slow

FAIL_WITHIN = 5


def write_config(
    folder: Path, extra: str = "", *, admin: str = ADMIN_TOKEN, overlay: str = OVERLAY_TOKEN
) -> Path:
    config = folder / "config.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [security]
        admin_token = "{admin}"
        overlay_token = "{overlay}"
        """)
        + textwrap.dedent(extra)
    )
    return config


@pytest.fixture
def fake_plugins(tmp_path: Path) -> dict[str, str]:
    """An environment with two installed plugins (a dist-info on PYTHONPATH): ``fakeplug``
    registers an overlay, ``broken`` fails to import. Nothing else is loaded."""
    site = tmp_path / "site"
    dist = site / "fakeplug-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[limelight]\nfakeplug = fakeplug\nbroken = nosuchmodule_xyz\n"
    )
    (site / "fakeplug.py").write_text(
        textwrap.dedent("""\
        from limelight import Overlay, hookimpl

        @hookimpl
        def register_overlays(register):
            register(Overlay("fake-card", "templates/alerts.html", width=640, height=360))
        """)
    )
    return clean_env(PYTHONPATH=str(site), LIMELIGHT_PLUGINS="fakeplug,broken")


def run_fails(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = cli(*args, cwd=cwd, timeout=FAIL_WITHIN, env=env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("limelight: "), result.stderr
    return result


def cause(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip().splitlines()[-1]


# -- startup failures -----------------------------------------------------------------------------


def test_run_with_bad_toml_exits_at_once(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[server\nport = 1\n")
    result = run_fails(["run", "--config", str(config)], tmp_path)
    assert result.returncode == 2
    assert cause(result).startswith(f"limelight: {config}: not valid TOML")


def test_run_with_an_unknown_key_names_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[server]\nprot = 8600\n")
    result = run_fails(["run", "--config", str(config)], tmp_path)
    assert cause(result) == (
        f"limelight: {config}: server.prot: unknown key "
        "(check the spelling against config.example.toml)"
    )


def test_run_with_a_missing_config_file(tmp_path: Path) -> None:
    result = run_fails(["run", "--config", str(tmp_path / "nope.toml")], tmp_path)
    assert "no such file" in cause(result)


def test_run_on_a_taken_port_exits_with_the_cause(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_fails(
            ["run", "--config", str(config), "--port", str(port)],
            tmp_path,
            env=clean_env(LIMELIGHT_PLUGINS=""),
        )
    assert result.returncode == 3
    assert cause(result) == (
        f"limelight: cannot listen on 127.0.0.1:{port}: address is already in use"
    )


def test_run_with_an_unreachable_database_exits_with_the_cause(tmp_path: Path) -> None:
    closed = free_port()
    config = write_config(
        tmp_path,
        f"""
        [database]
        url = "postgres://root:db-pass-778899@127.0.0.1:{closed}/limelight"
        """,
    )
    result = run_fails(
        ["run", "--config", str(config)], tmp_path, env=clean_env(LIMELIGHT_PLUGINS="")
    )
    assert result.returncode == 3
    assert cause(result).startswith(f"limelight: database postgres://127.0.0.1:{closed}/")
    assert "db-pass-778899" not in result.stderr + result.stdout


def test_run_with_a_bad_env_override_names_the_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = run_fails(
        ["run", "--config", str(config)], tmp_path, env=clean_env(LIMELIGHT_SERVER__PORT="lots")
    )
    assert "environment variable LIMELIGHT_SERVER__PORT: server.port" in cause(result)


# -- a running server -----------------------------------------------------------------------------


def test_run_prints_urls_serves_and_stops_cleanly_on_sigterm(tmp_path: Path, fake_plugins) -> None:
    config = write_config(tmp_path)
    with running_server(config, tmp_path, env=fake_plugins) as server:
        status, health = server.get("/healthz")
        assert status == 200 and health["db"]["ok"]
        plugins = {p["name"]: p["status"] for p in health["plugins"]}
        assert plugins["fakeplug"] == "enabled" and plugins["broken"] == "failed"
        code = server.stop(timeout=5)
        output = server.output()
    assert code == 0, output
    base = f"http://127.0.0.1:{server.port}"
    assert f"dashboard: {base}/admin/" in output
    assert f"overlay fake-card (640x360): {base}/overlays/fake-card?token={OVERLAY_TOKEN}" in output
    assert "Limelight stopping" in output
    assert ADMIN_TOKEN not in output  # the admin token is never printed


def test_simulate_reaches_a_running_server(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = clean_env(LIMELIGHT_PLUGINS="")
    with running_server(config, tmp_path, env=env) as server:
        result = cli(
            "simulate",
            "tip",
            "--config",
            config,
            "--url",
            server.base,
            "--viewer",
            "Zed",
            "--set",
            "amount=7.50",
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["duplicate"] is False
        status, listing = server.get("/api/events?type=tip", ADMIN_TOKEN)
        assert status == 200
        event = listing["events"][0]
        assert event["id"] == answer["id"] and event["test"] is True
        assert event["source"] == "simulate" and event["viewer"]["name"] == "Zed"
        assert event["data"]["amount"] == "7.50"

        refused = cli(
            "simulate",
            "tip",
            "--config",
            config,
            "--url",
            server.base,
            "--set",
            "amount=-1",
            cwd=tmp_path,
            env=env,
        )
        assert refused.returncode != 0
        assert "the server refused the event (400)" in refused.stderr
        server.stop()


def test_simulate_without_a_server_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"[server]\nport = {free_port()}\n")
    result = cli("simulate", "tip", "--config", config, cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert "is `limelight run` running?" in cause(result)


# -- doctor and plugins ----------------------------------------------------------------------


def test_doctor_reports_every_problem(tmp_path: Path, fake_plugins) -> None:
    closed = free_port()
    config = write_config(
        tmp_path,
        f"""
        [database]
        url = "postgres://root@127.0.0.1:{closed}/limelight"
        """,
        admin="",
        overlay="",
    )
    result = cli(
        "doctor", "--config", config, cwd=tmp_path, env=fake_plugins, timeout=FAIL_WITHIN * 2
    )
    assert result.returncode == 1
    out = result.stdout
    assert "security.admin_token is empty" in out
    assert "security.overlay_token is empty" in out
    assert "plugin broken: FAIL" in out and "nosuchmodule_xyz" in out
    assert f"database: FAIL  database postgres://127.0.0.1:{closed}/limelight" in out


def test_doctor_on_a_fresh_init_is_happy(tmp_path: Path) -> None:
    assert cli("init", "--dir", tmp_path, cwd=tmp_path).returncode == 0
    result = cli(
        "doctor", cwd=tmp_path, env=clean_env(LIMELIGHT_PLUGINS=""), timeout=FAIL_WITHIN * 2
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all good" in result.stdout


def test_doctor_with_a_bad_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[obs]\nport = 0\n")
    result = cli("doctor", "--config", config, cwd=tmp_path)
    assert result.returncode == 1
    assert "config: FAIL" in result.stdout and "obs.port" in result.stdout


def test_plugins_command_lists_installed_plugins(tmp_path: Path, fake_plugins) -> None:
    result = cli("plugins", "--json", cwd=tmp_path, env=fake_plugins)
    assert result.returncode == 0, result.stderr
    rows = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert rows["fakeplug"]["origin"] == "fakeplug 1.0"
    assert rows["fakeplug"]["hooks"] == ["register_overlays"]
    assert rows["broken"]["status"] == "failed"
    # plugins not named in LIMELIGHT_PLUGINS are listed as disabled, with the reason
    others = [r for n, r in rows.items() if n not in ("fakeplug", "broken")]
    assert all(
        r["status"] == "disabled" and r["reason"] == "not in LIMELIGHT_PLUGINS" for r in others
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = cli("--help", cwd=tmp_path)
    for command in ("init", "run", "plugins", "simulate", "doctor"):
        assert command in result.stdout


def test_config_comes_from_limelight_config_env(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[server]\nprot = 1\n")
    result = run_fails(["run"], tmp_path, env=clean_env(LIMELIGHT_CONFIG=str(config)))
    assert str(config) in cause(result)


def test_no_secret_leaks_into_output_on_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[webhooks]\nkofi = "whsec-should-not-leak"\n')
    result = run_fails(["run", "--config", str(config)], tmp_path)
    assert "whsec-should-not-leak" not in result.stderr + result.stdout
    assert "webhooks.kofi" in cause(result)
