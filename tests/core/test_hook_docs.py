"""Every hook is documented in docs/hooks.md and has a test of its own.

A hook's test is any test function under ``tests/`` whose name contains ``hook_<name>``
(for example ``test_hook_on_event_receives_each_event_once``). Add a hook to
``hookspecs.py`` and this fails until both exist; remove one and the stale section fails too.

The tests of ``register_doctor_checks`` and ``register_cli_commands`` live at the end of
this file: both hooks are used without a running server, so they need no app.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
from pathlib import Path

import pytest
from limelight import (
    CliCommand,
    DoctorCheck,
    NoConfig,
    Plugin,
    PluginConfig,
    Register,
    cli,
    hookimpl,
    hookspecs,
)
from limelight.plugins import PluginHost
from limelight.testing import make_settings

TESTS = Path(__file__).resolve().parent.parent
DOCS = TESTS.parent / "docs" / "hooks.md"


def hook_names() -> list[str]:
    return sorted(
        name
        for name, obj in vars(hookspecs).items()
        if inspect.isfunction(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")
    )


def documented() -> set[str]:
    """Hooks with a ``### `name(...)``` section in docs/hooks.md."""
    return set(re.findall(r"^###\s+`(\w+)\(", DOCS.read_text(encoding="utf-8"), re.MULTILINE))


def collect_test_names() -> set[str]:
    names: set[str] = set()
    for path in TESTS.rglob("*.py"):
        if "fixtures" in path.relative_to(TESTS).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test"
            ):
                names.add(node.name)
    return names


def test_there_are_hooks() -> None:
    assert len(hook_names()) >= 14


@pytest.mark.parametrize("hook", hook_names())
def test_hook_is_documented(hook: str) -> None:
    assert hook in documented(), f"docs/hooks.md has no '### `{hook}(...)`' section"


@pytest.mark.parametrize("hook", hook_names())
def test_hook_has_a_test(hook: str) -> None:
    pattern = re.compile(rf"hook_{hook}(?![a-z])")
    found = [n for n in collect_test_names() if pattern.search(n)]
    assert found, f"no test function under tests/ has 'hook_{hook}' in its name"


def test_docs_describe_no_hook_that_does_not_exist() -> None:
    stale = documented() - set(hook_names())
    assert not stale, f"docs/hooks.md documents hooks that hookspecs.py lacks: {sorted(stale)}"


@pytest.mark.parametrize("hook", hook_names())
def test_hookspec_is_typed_and_has_a_docstring(hook: str) -> None:
    func = getattr(hookspecs, hook)
    assert inspect.getdoc(func), f"{hook} has no docstring"
    signature = inspect.signature(func)
    assert signature.return_annotation is not inspect.Signature.empty, f"{hook}: no return type"
    for param in signature.parameters.values():
        assert param.annotation is not inspect.Parameter.empty, f"{hook}({param.name}) untyped"


# -- the hooks whose tests live here: what plugins add to ``limelight doctor`` and the CLI ------


class DoctorConfig(PluginConfig):
    token: str = ""


class Doctored(Plugin[DoctorConfig]):
    """Three checks: one that reads the config, one async, one that raises."""

    config_model = DoctorConfig

    @hookimpl
    def register_doctor_checks(self, register: Register[DoctorCheck]) -> None:
        register(DoctorCheck("token set", self.token_set))
        register(DoctorCheck("api reachable", self.reachable))
        register(DoctorCheck("broken", self.broken))

    def token_set(self) -> list[str]:
        return [] if self.config.token else ["plugins.doctored.token is empty"]

    async def reachable(self) -> list[str]:
        # Runs without the server: the context has its config, not the live services.
        return [] if not self.ctx.running else ["the server should not be running"]

    def broken(self) -> list[str]:
        raise RuntimeError("boom")


def built_host(tmp_path: Path, plugins: dict[str, object], config: dict[str, object]) -> PluginHost:
    """A host as ``limelight doctor`` builds it: configured and registered, not started."""
    host = PluginHost(make_settings(tmp_path, config))
    for name, plugin in plugins.items():
        host.add(plugin, name)
    host.configure()
    host.collect_registrations()
    return host


async def test_hook_register_doctor_checks_run_with_the_config_and_report_problems(
    tmp_path: Path,
) -> None:
    host = built_host(tmp_path, {"doctored": Doctored}, {})
    assert await host.doctor() == [
        ("doctored", "token set", ["plugins.doctored.token is empty"]),
        ("doctored", "api reachable", []),
        ("doctored", "broken", ["the check failed: RuntimeError: boom"]),
    ]

    fixed = built_host(tmp_path, {"doctored": Doctored}, {"plugins": {"doctored": {"token": "x"}}})
    assert [problems for _, title, problems in await fixed.doctor() if title != "broken"] == [
        [],
        [],
    ]


async def test_hook_register_doctor_checks_of_a_disabled_plugin_do_not_run(
    tmp_path: Path,
) -> None:
    host = built_host(tmp_path, {"doctored": Doctored}, {"plugins": {"doctored": {"tokn": "x"}}})
    assert host.info["doctored"].status == "failed"
    assert await host.doctor() == []


class Greeter(Plugin[NoConfig]):
    """A plugin that adds ``limelight greeter-hello --name NAME``."""

    @hookimpl
    def register_cli_commands(self, register: Register[CliCommand]) -> None:
        register(CliCommand("greeter-hello", "Say hello.", self.hello, self.arguments))

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", default="you")

    async def hello(self, args: argparse.Namespace) -> int:
        print(f"Hello, {args.name}! (plugin {self.name})")
        return 0 if args.name != "nobody" else 3


class Copycat(Plugin[NoConfig]):
    @hookimpl
    def register_cli_commands(self, register: Register[CliCommand]) -> None:
        register(CliCommand("greeter-hello", "Me too.", lambda args: 0))


def test_hook_register_cli_commands_are_owned_and_collisions_disable_the_later_plugin(
    tmp_path: Path,
) -> None:
    host = built_host(tmp_path, {"greeter": Greeter, "copycat": Copycat}, {})
    assert host.cli_commands.owner_of("greeter-hello") == "greeter"
    assert host.info["copycat"].status == "failed"
    assert "greeter-hello" in host.info["copycat"].reason
    assert "'greeter'" in host.info["copycat"].reason


def test_hook_register_cli_commands_run_from_the_limelight_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    plugins = {"greeter": Greeter}
    argv = ["greeter-hello", "--config", str(config), "--name", "Bob"]

    assert cli.main(argv, plugins=plugins, entry_points=False) == 0
    assert "Hello, Bob! (plugin greeter)" in capsys.readouterr().out

    argv[-1] = "nobody"
    assert cli.main(argv, plugins=plugins, entry_points=False) == 3
