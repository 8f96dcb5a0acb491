"""The ``limelight`` command: as a real process (startup failures, SIGTERM, URLs,
simulate, doctor, plugins; marked ``slow``) and in-process through ``main(argv,
plugins=...)`` (plugin sub-commands, plugin doctor checks, ``limelight plugins`` against a
running server and without one).

Failures must exit non-zero within 5 s with a one-line cause: every subprocess here runs
under a 5 s timeout, so a hang fails the test instead of being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import subprocess
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest
from aiohttp import web
from limelight import (
    CliCommand,
    DoctorCheck,
    Event,
    NoConfig,
    Plugin,
    PluginConfig,
    Register,
    hookimpl,
)
from limelight.cli import build_parser, main
from limelight.cli_ext import CORE_CLI_COMMANDS
from limelight.config import load_settings
from limelight.testing import ADMIN_TOKEN, OVERLAY_TOKEN, make_tip

from tests.core.procs import CLI, clean_env, cli, running_server
from tests.support import free_port

slow = pytest.mark.slow

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
    registers an overlay and the CLI command ``fake-hello``, ``broken`` fails to import.
    Nothing else is loaded."""
    site = tmp_path / "site"
    dist = site / "fakeplug-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[limelight]\nfakeplug = fakeplug\nbroken = nosuchmodule_xyz\n"
    )
    (site / "fakeplug.py").write_text(
        textwrap.dedent("""\
        from limelight import CliCommand, Overlay, hookimpl

        @hookimpl
        def register_overlays(register):
            register(Overlay("fake-card", "templates/alerts.html", width=640, height=360))

        def hello(args):
            print(f"hello {args.who}")
            return 3

        def arguments(parser):
            parser.add_argument("--who", default="world")

        @hookimpl
        def register_cli_commands(register):
            register(CliCommand("fake-hello", "say hello from fakeplug", hello, arguments))
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


@slow
def test_run_with_bad_toml_exits_at_once(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[server\nport = 1\n")
    result = run_fails(["run", "--config", str(config)], tmp_path)
    assert result.returncode == 2
    assert cause(result).startswith(f"limelight: {config}: not valid TOML")


@slow
def test_run_with_an_unknown_key_names_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[server]\nprot = 8600\n")
    result = run_fails(["run", "--config", str(config)], tmp_path)
    assert cause(result) == (
        f"limelight: {config}: server.prot: unknown key "
        "(check the spelling against config.example.toml)"
    )


@slow
def test_run_with_a_missing_config_file(tmp_path: Path) -> None:
    result = run_fails(["run", "--config", str(tmp_path / "nope.toml")], tmp_path)
    assert "no such file" in cause(result)


@slow
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


@slow
def test_run_with_an_unreachable_database_exits_with_the_cause(tmp_path: Path) -> None:
    closed = free_port()
    config = write_config(
        tmp_path,
        f"""
        [server]
        port = {free_port()}  # not 8600: a Limelight running on this machine must not matter

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


@slow
def test_run_with_a_bad_env_override_names_the_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = run_fails(
        ["run", "--config", str(config)], tmp_path, env=clean_env(LIMELIGHT_SERVER__PORT="lots")
    )
    assert "environment variable LIMELIGHT_SERVER__PORT: server.port" in cause(result)


# -- a running server -----------------------------------------------------------------------------


@slow
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


@slow
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


@slow
def test_simulate_without_a_server_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"[server]\nport = {free_port()}\n")
    result = cli("simulate", "tip", "--config", config, cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert "is `limelight run` running?" in cause(result)


# -- doctor and plugins ----------------------------------------------------------------------


@slow
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


@slow
def test_doctor_on_a_fresh_init_is_happy(tmp_path: Path) -> None:
    assert cli("init", "--dir", tmp_path, cwd=tmp_path).returncode == 0
    result = cli(
        "doctor", cwd=tmp_path, env=clean_env(LIMELIGHT_PLUGINS=""), timeout=FAIL_WITHIN * 2
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all good" in result.stdout
    # with the built-in plugins, as `make run` starts them: what is not set up is off
    result = cli("doctor", cwd=tmp_path, timeout=FAIL_WITHIN * 2)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout and "all good" in result.stdout, result.stdout
    assert "  off   shop checkout: viewers' pay links are not set up" in result.stdout


@slow
def test_doctor_with_a_bad_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[obs]\nport = 0\n")
    result = cli("doctor", "--config", config, cwd=tmp_path)
    assert result.returncode == 1
    assert "config: FAIL" in result.stdout and "obs.port" in result.stdout


@slow
def test_plugins_command_without_a_server_checks_without_starting(
    tmp_path: Path, fake_plugins
) -> None:
    config = write_config(tmp_path, f"[server]\nport = {free_port()}\n")
    result = cli("plugins", "--json", "--config", config, cwd=tmp_path, env=fake_plugins)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source"] == "check"
    assert report["note"].startswith("not running: checked without starting plugins")
    rows = {p["name"]: p for p in report["plugins"]}
    assert rows["fakeplug"]["origin"] == "fakeplug 1.0"
    assert rows["fakeplug"]["hooks"] == ["register_cli_commands", "register_overlays"]
    assert rows["fakeplug"]["status"] == "ready"  # it would start; it was not started
    assert rows["broken"]["status"] == "failed"
    assert not any("stats" in row for row in rows.values())  # no call was made
    # plugins not named in LIMELIGHT_PLUGINS are listed as disabled, with the reason
    others = {n: r for n, r in rows.items() if n not in ("fakeplug", "broken")}
    assert {"alerts", "console", "tips", "twitch"} <= others.keys()
    assert all(
        r["status"] == "disabled" and r["reason"] == "not in LIMELIGHT_PLUGINS"
        for r in others.values()
    )

    text = cli("plugins", "--config", config, cwd=tmp_path, env=fake_plugins).stdout
    assert text.splitlines()[0].startswith("not running: checked without starting plugins")
    assert "fakeplug" in text and " ready " in text and "calls:" not in text


@slow
def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    """`limelight plugins | head -1`: the pipe's reader is gone before the listing is
    written. The command stops quietly with the shell's code for it, no traceback."""
    config = write_config(tmp_path, f"[server]\nport = {free_port()}\n")
    proc = subprocess.Popen(
        [*CLI, "plugins", "--config", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before a line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=FAIL_WITHIN * 2) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    proc.stderr.close()


@slow
def test_plugins_command_shows_the_running_server(tmp_path: Path, fake_plugins) -> None:
    config = write_config(tmp_path)
    with running_server(config, tmp_path, env=fake_plugins) as server:
        env = {**fake_plugins, "LIMELIGHT_SERVER__PORT": str(server.port)}
        result = cli("plugins", "--json", "--config", config, cwd=tmp_path, env=env)
        text = cli("plugins", "--config", config, cwd=tmp_path, env=env).stdout
        server.stop()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source"] == "server"
    assert report["note"] == f"from the running server at {server.base}"
    rows = {p["name"]: p for p in report["plugins"]}
    assert rows["fakeplug"]["status"] == "enabled" and rows["broken"]["status"] == "failed"
    assert "stats" in rows["fakeplug"]
    assert text.splitlines()[0] == f"from the running server at {server.base}"


@slow
def test_help_lists_every_command_and_the_installed_plugins_commands(
    tmp_path: Path, fake_plugins
) -> None:
    result = cli("--help", cwd=tmp_path, env=fake_plugins)
    assert result.returncode == 0, result.stderr
    for command in (*CORE_CLI_COMMANDS, "fake-hello"):
        assert re.search(rf"^    {command}\s", result.stdout, re.M), command
    assert "say hello from fakeplug [plugin fakeplug]" in result.stdout


@slow
def test_an_installed_plugins_command_runs(tmp_path: Path, fake_plugins) -> None:
    result = cli("fake-hello", "--who", "Ann", cwd=tmp_path, env=fake_plugins)
    assert (result.returncode, result.stdout) == (3, "hello Ann\n"), result.stderr


@slow
def test_config_comes_from_limelight_config_env(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[server]\nprot = 1\n")
    result = run_fails(["run"], tmp_path, env=clean_env(LIMELIGHT_CONFIG=str(config)))
    assert str(config) in cause(result)


@slow
def test_no_secret_leaks_into_output_on_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[webhooks]\nkofi = "whsec-should-not-leak"\n')
    result = run_fails(["run", "--config", str(config)], tmp_path)
    assert "whsec-should-not-leak" not in result.stderr + result.stdout
    assert "webhooks.kofi" in cause(result)


# -- in process: plugin sub-commands ---------------------------------------------------------------
#
# ``main(argv, plugins=..., entry_points=False)`` gives the CLI plugin objects as the test kit
# gives them to an app: nothing needs installing, nothing else is loaded.


class GreeterConfig(PluginConfig):
    greeting: str = "hello"


class Greeter(Plugin[GreeterConfig]):
    """Adds ``limelight greet`` (sync, options, config) and ``greet-later`` (async)."""

    config_model = GreeterConfig

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("who")
        parser.add_argument("--code", type=int, default=0)

    def greet(self, args: argparse.Namespace) -> int:
        print(f"{self.config.greeting} {args.who} (running: {self.ctx.running})")
        return int(args.code)

    async def greet_later(self, args: argparse.Namespace) -> int:
        await asyncio.sleep(0)
        print(f"{self.config.greeting} later")
        return 0

    @hookimpl
    def register_cli_commands(self, register: Register[CliCommand]) -> None:
        register(CliCommand("greet", "greet someone", self.greet, self.arguments))
        register(CliCommand("greet-later", "greet, asynchronously", self.greet_later))


class Shadow(Plugin[NoConfig]):
    """Registers ``doctor``, which is the core's."""

    def run(self, args: argparse.Namespace) -> int:
        print("the plugin's doctor ran")
        return 0

    @hookimpl
    def register_cli_commands(self, register: Register[CliCommand]) -> None:
        register(CliCommand("doctor", "not the real doctor", self.run))


class Failing(Plugin[NoConfig]):
    def run(self, args: argparse.Namespace) -> int:
        raise RuntimeError("the export folder is gone")

    @hookimpl
    def register_cli_commands(self, register: Register[CliCommand]) -> None:
        register(CliCommand("fail-export", "always fails", self.run))


class BadArguments(Plugin[NoConfig]):
    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config")  # clashes with the --config every command has

    @hookimpl
    def register_cli_commands(self, register: Register[CliCommand]) -> None:
        register(CliCommand("bad-args", "cannot be added", lambda args: 0, self.arguments))


def in_process_config(tmp_path: Path, extra: str = "") -> Path:
    """A config on a SQLite file in ``tmp_path`` and a port nothing listens on."""
    return write_config(
        tmp_path,
        f"""
        [server]
        port = {free_port()}
        [database]
        url = "sqlite://{tmp_path / "db.sqlite3"}"
        """
        + textwrap.dedent(extra),
    )


def run_main(*argv: str | Path, plugins: dict[str, object]) -> int:
    return main([str(a) for a in argv], plugins=plugins, entry_points=False)


def test_help_lists_plugin_commands_next_to_the_core_ones(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    assert run_main("--help", "--config", config, plugins={"greeter": Greeter}) == 0
    out = capsys.readouterr().out
    for command in (*CORE_CLI_COMMANDS, "greet", "greet-later"):
        assert re.search(rf"^    {command}\s", out, re.M), command
    assert "greet someone [plugin greeter]" in out


def test_a_plugin_command_runs_with_its_options_and_config(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path, '[plugins.greeter]\ngreeting = "hi"\n')
    code = run_main("greet", "Ann", "--code", "4", "--config", config, plugins={"g": Greeter})
    assert code == 4
    # wrong: the table is [plugins.greeter]; the plugin is registered as "g" -> defaults
    assert capsys.readouterr().out == "hello Ann (running: False)\n"
    code = run_main("greet", "Ann", "--config", config, plugins={"greeter": Greeter})
    assert (code, capsys.readouterr().out) == (0, "hi Ann (running: False)\n")


def test_an_async_plugin_command_is_awaited(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    assert run_main("greet-later", "--config", config, plugins={"greeter": Greeter}) == 0
    assert capsys.readouterr().out == "hello later\n"


def test_a_plugin_command_help_shows_its_options(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    assert run_main("greet", "--help", "--config", config, plugins={"greeter": Greeter}) == 0
    out = capsys.readouterr().out
    assert "usage: limelight greet" in out and "--code" in out and "--config" in out


def test_a_plugin_command_named_like_a_core_one_is_refused(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    plugins = {"shadow": Shadow, "greeter": Greeter}
    assert run_main("plugins", "--json", "--config", config, plugins=plugins) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["shadow"]["status"] == "failed"
    assert (
        "CLI command 'doctor' of plugin 'shadow' is reserved by the core"
        in (rows["shadow"]["reason"])
    )
    assert rows["greeter"]["status"] == "ready"  # the others are untouched

    assert run_main("--help", "--config", config, plugins=plugins) == 0
    out = capsys.readouterr().out
    assert "not the real doctor" not in out and "greet someone" in out
    # `limelight doctor` is still the core's
    run_main("doctor", "--config", config, plugins=plugins)
    out = capsys.readouterr().out
    assert "the plugin's doctor ran" not in out and "config: ok" in out
    assert "plugin shadow: FAIL  register_cli_commands: CLI command 'doctor'" in out


def test_two_plugins_with_one_command_name_the_later_is_refused(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    plugins = {"first": Greeter, "second": Greeter}
    assert run_main("plugins", "--json", "--config", config, plugins=plugins) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["first"]["status"] == "ready"
    assert rows["second"]["status"] == "failed"
    assert "collides with the one plugin 'first' registered" in rows["second"]["reason"]


def test_a_failing_plugin_command_is_one_line_naming_the_plugin(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    assert run_main("fail-export", "--config", config, plugins={"exporter": Failing}) == 1
    err = capsys.readouterr().err
    assert err == (
        "limelight: fail-export (plugin exporter) failed: RuntimeError: the export folder is gone\n"
    )


def test_a_plugin_whose_options_fail_is_disabled_and_left_out(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    plugins = {"bad": BadArguments, "greeter": Greeter}
    assert run_main("--help", "--config", config, plugins=plugins) == 0
    captured = capsys.readouterr()
    assert "bad-args" not in captured.out and "greet someone" in captured.out
    assert "limelight: plugin bad disabled: CLI command 'bad-args': arguments() failed" in (
        captured.err
    )
    assert run_main("bad-args", "--config", config, plugins=plugins) == 2  # no such command
    assert "invalid choice: 'bad-args'" in capsys.readouterr().err
    # `limelight plugins` shows the same status
    assert run_main("plugins", "--json", "--config", config, plugins=plugins) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["bad"]["status"] == "failed" and rows["greeter"]["status"] == "ready"
    assert rows["bad"]["reason"].startswith(
        "CLI command 'bad-args': arguments() failed: ArgumentError: argument --config"
    )


def test_a_plugin_command_with_a_bad_config_says_what_is_wrong(tmp_path: Path, capsys) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[server\n")
    assert run_main("greet", "Ann", "--config", config, plugins={"greeter": Greeter}) == 2
    assert capsys.readouterr().err.startswith(f"limelight: {config}: not valid TOML")
    # --help still works, without the plugin commands, and says why
    assert run_main("--help", "--config", config, plugins={"greeter": Greeter}) == 0
    captured = capsys.readouterr()
    assert "init" in captured.out and "greet" not in captured.out
    assert "plugin commands are not listed" in captured.err


def test_core_commands_do_not_load_plugins(tmp_path: Path, capsys) -> None:
    created: list[str] = []

    class Counted(Plugin[NoConfig]):
        def __init__(self) -> None:
            super().__init__()
            created.append("counted")

    assert run_main("init", "--dir", tmp_path, plugins={"counted": Counted}) == 0
    assert created == []
    assert run_main("--help", "--config", tmp_path / "config.toml", plugins={"c": Counted}) == 0
    assert created == ["counted"]


def test_core_cli_names_are_the_parsers_own() -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert tuple(subparsers.choices) == CORE_CLI_COMMANDS  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["Greet", "--greet", "greet me", "", "9lives"])
def test_a_cli_command_name_must_be_typeable(name: str) -> None:
    with pytest.raises(ValueError, match="CLI command name"):
        CliCommand(name, "help", lambda args: 0)


# -- in process: doctor runs every plugin's checks -------------------------------------------------


class Checked(Plugin[NoConfig]):
    """Three checks: one passes (sync), one finds two problems (async), one raises."""

    def token(self) -> list[str]:
        return []

    async def api(self) -> list[str]:
        await asyncio.sleep(0)
        return ["plugins.checked.token has expired", "the API refused the client id"]

    def broken(self) -> list[str]:
        raise RuntimeError("no network")

    @hookimpl
    def register_doctor_checks(self, register: Register[DoctorCheck]) -> None:
        register(DoctorCheck("token", self.token))
        register(DoctorCheck("API", self.api))
        register(DoctorCheck("network", self.broken))


class Healthy(Plugin[NoConfig]):
    def fine(self) -> list[str]:
        return []

    @hookimpl
    def register_doctor_checks(self, register: Register[DoctorCheck]) -> None:
        register(DoctorCheck("all fine", self.fine))


def test_doctor_prints_each_plugins_problems_under_its_name(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    plugins = {"checked": Checked, "healthy": Healthy}
    assert run_main("doctor", "--config", config, plugins=plugins) == 1
    out = capsys.readouterr().out
    assert (
        "plugin checked:\n"
        "  ok    token\n"
        "  FAIL  API: plugins.checked.token has expired\n"
        "  FAIL  API: the API refused the client id\n"
        "  FAIL  network: the check failed: RuntimeError: no network\n"
        "plugin healthy:\n"
        "  ok    all fine\n"
    ) in out
    assert out.rstrip().endswith("3 problems found")


class NotSetUp(Plugin[NoConfig]):
    """One check whose feature is not set up (off), one whose ``off`` raises (so it runs)."""

    ran: ClassVar[list[str]] = []

    def payouts(self) -> list[str]:
        self.ran.append("payouts")
        return ["plugins.notsetup.key is empty"]

    def broken_off(self) -> str:
        raise RuntimeError("cannot tell")

    def api(self) -> list[str]:
        self.ran.append("api")
        return ["the API refused the client id"]

    @hookimpl
    def register_doctor_checks(self, register: Register[DoctorCheck]) -> None:
        register(DoctorCheck("payouts", self.payouts, off=lambda: "no payout account yet"))
        register(DoctorCheck("API", self.api, off=self.broken_off))


def test_doctor_shows_a_feature_not_set_up_as_off_not_as_a_problem(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    NotSetUp.ran.clear()
    assert run_main("doctor", "--config", config, plugins={"notsetup": NotSetUp}) == 1
    out = capsys.readouterr().out
    assert (
        "plugin notsetup:\n"
        "  FAIL  API: the API refused the client id\n"
        "  off   payouts: no payout account yet\n"
    ) in out
    assert NotSetUp.ran == ["api"]  # an off check is not run; an `off` that raises runs it
    assert out.rstrip().endswith("1 problem found")


def test_doctor_with_healthy_plugin_checks_is_all_good(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path)
    assert run_main("doctor", "--config", config, plugins={"healthy": Healthy}) == 0
    out = capsys.readouterr().out
    assert "plugin healthy:\n  ok    all fine\n" in out
    assert out.rstrip().endswith("all good")


# -- in process: `limelight plugins` tells where its statuses come from ----------------------------


class StartsBadly(Plugin[NoConfig]):
    """Passes every check made without starting it; its startup fails."""

    @hookimpl
    def startup(self) -> None:
        raise RuntimeError("cannot reach the API")


class Counter(Plugin[NoConfig]):
    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    @hookimpl
    def on_event(self, event: Event) -> None:
        self.seen += 1


class NeedsMissing(Plugin[NoConfig]):
    requires = ("nowhere",)


class WantsConfig(Plugin[GreeterConfig]):
    config_model = GreeterConfig


RUNNING_PLUGINS: dict[str, object] = {"badstart": StartsBadly, "counter": Counter}


def test_plugins_without_a_server_says_so_and_shows_what_it_checked(tmp_path: Path, capsys) -> None:
    config = in_process_config(tmp_path, "[plugins.wants]\ngreting = 1\n")
    plugins = {**RUNNING_PLUGINS, "needs": NeedsMissing, "wants": WantsConfig}
    assert run_main("plugins", "--json", "--config", config, plugins=plugins) == 0
    report = json.loads(capsys.readouterr().out)
    url = f"http://127.0.0.1:{load_settings(config).server.port}"
    assert report["source"] == "check" and report["server"] == url
    assert report["note"] == (
        f"not running: checked without starting plugins (nothing answers at {url})"
    )
    rows = {r["name"]: r for r in report["plugins"]}
    assert {n: r["status"] for n, r in rows.items()} == {
        "badstart": "ready",  # its startup is never called here
        "counter": "ready",
        "needs": "failed",
        "wants": "failed",
    }
    assert "requires plugin 'nowhere', which is not installed" in rows["needs"]["reason"]
    assert "plugins.wants.greting: unknown key" in rows["wants"]["reason"]
    assert all("stats" not in r for r in rows.values())

    assert run_main("plugins", "--config", config, plugins=plugins) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == report["note"]
    assert any(line.startswith("counter ") and " ready " in line for line in lines)
    assert not any("calls:" in line for line in lines)


async def test_plugins_shows_the_running_servers_statuses_and_calls(
    limelight, tmp_path: Path, capsys
) -> None:
    h = await limelight(plugins=RUNNING_PLUGINS)
    await h.publish(make_tip("2.00"))
    await h.publish(make_tip("3.00"))
    port_config = tmp_path / "running.toml"
    port_config.write_text(
        f'[server]\nport = {h.client.port}\n[security]\nadmin_token = "{ADMIN_TOKEN}"\n'
    )
    # The CLI blocks on its HTTP request: it runs on a thread while the server answers here.
    code = await asyncio.to_thread(
        run_main, "plugins", "--json", "--config", port_config, plugins=RUNNING_PLUGINS
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    url = f"http://127.0.0.1:{h.client.port}"
    assert (report["source"], report["server"]) == ("server", url)
    assert report["note"] == f"from the running server at {url}"
    rows = {r["name"]: r for r in report["plugins"]}
    assert rows["badstart"]["status"] == "failed"
    assert "startup failed: RuntimeError: cannot reach the API" in rows["badstart"]["reason"]
    assert rows["counter"]["status"] == "enabled"
    assert rows["counter"]["stats"]["on_event"]["calls"] == 2  # real calls, counted

    code = await asyncio.to_thread(
        run_main, "plugins", "--config", port_config, plugins=RUNNING_PLUGINS
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and lines[0] == f"from the running server at {url}"
    assert f"{'':16} calls: on_event 2" in lines


async def test_plugins_with_a_wrong_admin_token_says_the_server_refused_it(
    limelight, tmp_path: Path, capsys
) -> None:
    h = await limelight(plugins=RUNNING_PLUGINS)
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nport = {h.client.port}\n[security]\nadmin_token = "nope"\n')
    code = await asyncio.to_thread(
        run_main, "plugins", "--json", "--config", config, plugins=RUNNING_PLUGINS
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    url = f"http://127.0.0.1:{h.client.port}"
    assert report["source"] == "check"
    assert report["note"] == (
        f"checked without starting plugins: the server at {url} refused the admin token (HTTP 403)"
    )
    assert {r["name"]: r["status"] for r in report["plugins"]}["badstart"] == "ready"


async def test_plugins_against_something_else_on_the_port(
    aiohttp_server, tmp_path: Path, capsys
) -> None:
    other = await aiohttp_server(web.Application())  # answers 404 to everything
    config = tmp_path / "config.toml"
    config.write_text(f"[server]\nport = {other.port}\n")
    code = await asyncio.to_thread(run_main, "plugins", "--json", "--config", config, plugins={})
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == "check"
    assert report["note"] == (
        f"checked without starting plugins: http://127.0.0.1:{other.port} answered HTTP 404: "
        "not a Limelight server?"
    )
