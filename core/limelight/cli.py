"""The ``limelight`` command: init, run, plugins, simulate, doctor, obs, plugin, and the
sub-commands plugins add (``register_cli_commands``).

Startup failures (bad config, a taken port, an unreachable database) print one line that
says what is wrong and exit non-zero within seconds; nothing is left running behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .cli_ext import CORE_CLI_COMMANDS, CliCommand, reserve_core_names
from .config import ConfigError, Settings, load_settings, plugin_selection, write_initial_config
from .db import DatabaseError
from .heap import FREEZE_AFTER, freeze_startup_heap
from .logs import setup_logging
from .text import plural

if TYPE_CHECKING:
    from .plugins import PluginHost

EXIT_CONFIG = 2
EXIT_STARTUP = 3
#: What a shell reports for a program its pipe's reader left (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


def _fail(message: str, code: int = 1) -> int:
    print(f"limelight: {message}", file=sys.stderr)
    return code


def _settings(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Settings:
    return load_settings(getattr(args, "config", None), overrides=overrides)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__


@contextmanager
def _quiet() -> Iterator[None]:
    """No log lines while plugins load: the commands that load them show every plugin's
    status and reason themselves, and ``--help`` must not print a traceback."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


# -- plugins, as the CLI sees them ---------------------------------------------------------------


@dataclass(frozen=True)
class PluginSource:
    """Where the CLI finds plugins: the installed entry points (``LIMELIGHT_PLUGINS`` and
    ``[plugins] disabled`` honoured, as for ``limelight run``) and plugin objects given in
    code (``main(argv, plugins=...)``: tests, embedding)."""

    plugins: Mapping[str, object] = field(default_factory=dict)
    entry_points: bool = True

    def host(self, settings: Settings) -> PluginHost:
        """The plugin host as the server builds it; see :meth:`load`."""
        return self.load(settings).host

    def load(self, settings: Settings) -> LoadedPlugins:
        """The plugin host as the server builds it (plugins created, config validated,
        contexts made, registrations collected), with no server started and no hook beyond
        registration called, and the plugins' CLI commands ready for the parser.

        The core's sub-command names are reserved first, so a plugin that registers
        ``doctor`` is refused with a reason, not silently shadowed; a plugin whose command
        options cannot be added is refused too. Every command that loads plugins (``--help``,
        ``plugins``, ``doctor``) therefore sees the same statuses."""
        from .plugins import PluginHost

        host = PluginHost(settings)
        reserve_core_names(host.cli_commands)
        with _quiet():
            if self.entry_points:
                host.load_entry_points(plugin_selection(), settings.plugins.disabled)
            for name, obj in self.plugins.items():
                host.add(obj, name)
            host.configure()
            host.collect_registrations()
            commands, refused = plugin_subcommands(host)
        return LoadedPlugins(host, commands, refused)


@dataclass(frozen=True)
class LoadedPlugins:
    """A built (not started) plugin host, its plugins' CLI commands, and why any plugin was
    refused while its commands were prepared (one line each, for stderr)."""

    host: PluginHost
    commands: list[PluginSubcommand]
    refused: list[str]


# -- init --------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    try:
        path = write_initial_config(Path(args.dir))
    except ConfigError as exc:
        return _fail(str(exc))
    print(f"wrote {path} with fresh admin and overlay tokens; start with `limelight run`")
    return 0


# -- run ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.host:
        overrides.setdefault("server", {})["host"] = args.host
    if args.port is not None:
        overrides.setdefault("server", {})["port"] = args.port
    try:
        settings = _settings(args, overrides)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    setup_logging(settings)
    try:
        return asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 0


#: Seconds a stop (SIGTERM, Ctrl-C) may take before the process exits without waiting for
#: the rest: what was acknowledged is on disk, and a stop must not hang on a database
#: that stopped answering.
STOP_BUDGET = 4.0


def config_problems(settings: Settings, host: PluginHost) -> list[str]:
    """Mistakes in the plugins' and the webhooks' tables: ``limelight run`` stops on any
    (a server without its tip provider would answer 404 to payments and lose them).

    A ``[webhooks.<name>]`` table that no plugin provides is a mistake (a misspelled name)
    only when every installed plugin runs: with one disabled or failed, it may be that
    plugin's, and is logged instead (the failure shows in ``/healthz``)."""
    found = list(host.config_errors.values())
    if found:  # (a plugin whose table is wrong registered no webhook provider)
        return found
    unsure = [n for n, i in host.info.items() if not i.enabled]
    for name, problem in webhook_problems(settings, host):
        if unsure and host.webhook_providers.get(name) is None:
            logging.getLogger("limelight").warning(
                "%s; deliveries to /webhooks/%s are answered 404 (not running: %s)",
                problem,
                name,
                ", ".join(sorted(unsure)),
            )
            continue
        found.append(f"{settings.source}: {problem}")
    return found


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> int:
    from aiohttp import web

    from .web.app import build_host, create_app
    from .web.keys import HOST
    from .web.server import (
        GUARD,
        Guard,
        GuardedSite,
        ListenError,
        bind_sockets,
        connection_cap,
        runner_options,
    )

    # The port first: a taken one is reported before plugins load and the database opens.
    try:
        sockets = bind_sockets(settings.server.host, settings.server.port)
    except ListenError as exc:
        return _fail(str(exc), EXIT_STARTUP)
    loop = asyncio.get_running_loop()
    runner: web.AppRunner | None = None
    started = False
    try:
        app = create_app(settings, host=build_host(settings, strict_config=True))
        problems = config_problems(settings, app[HOST])
        if problems:
            return _fail("; ".join(problems), EXIT_CONFIG)
        guard = app[GUARD] = Guard(
            connection_cap(settings.server.max_connections), settings.server.header_timeout
        )
        runner = web.AppRunner(app, **runner_options())
        try:
            await runner.setup()
        except DatabaseError as exc:
            return _fail(str(exc), EXIT_STARTUP)
        except Exception as exc:
            return _fail(f"startup failed: {type(exc).__name__}: {exc}", EXIT_STARTUP)
        for sock in sockets:
            await GuardedSite(runner, sock, guard).start()
        started = True
    finally:
        if not started:
            for sock in sockets:
                sock.close()
            if runner is not None:
                await _stop(runner)
    port = settings.server.port
    if port == 0:  # an ephemeral port: report the real one
        port = sockets[0].getsockname()[1]
        settings.server.port = port
    base = settings.base_url()
    print(f"Limelight {__version__} serving on {base}", flush=True)
    print(f"  dashboard: {base}/admin/  (log in with security.admin_token)", flush=True)
    token = settings.security.overlay_token
    for overlay in app[HOST].overlays.values():
        print(
            f"  overlay {overlay.name} ({overlay.width}x{overlay.height}): "
            f"{base}/overlays/{overlay.name}?token={token}",
            flush=True,
        )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(FREEZE_AFTER, freeze_startup_heap)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        print("Limelight stopping", flush=True)
        if not await _stop(runner):
            logging.getLogger("limelight").error(
                "stopping took longer than %g s; exiting without waiting for the rest",
                STOP_BUDGET,
            )
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
    return 0


async def _stop(runner: Any) -> bool:
    """Stop the server (sites, then the app's cleanup) within :data:`STOP_BUDGET`;
    ``False`` when it did not finish in time."""
    cleanup = asyncio.ensure_future(runner.cleanup())
    done, _ = await asyncio.wait({cleanup}, timeout=STOP_BUDGET)
    if not done:
        return False
    if (exc := cleanup.exception()) is not None:
        logging.getLogger("limelight").error("stopping failed: %s", _describe(exc))
    return True


# -- plugins -----------------------------------------------------------------------------------

#: Status shown for a plugin that passed every check made without starting it (imported,
#: config valid, requirements met, registrations collected): it would start, nothing more.
READY = "ready"
#: Seconds ``limelight plugins`` waits for a running server's answer.
SERVER_TIMEOUT = 3.0


@dataclass
class ServerAnswer:
    """What the server at the configured host:port said to ``GET /-/plugins.json``."""

    url: str
    #: The running server's plugin rows; None when it could not be asked.
    rows: list[dict[str, Any]] | None = None
    #: Something answers there (possibly refusing the token, or not Limelight).
    reachable: bool = False
    #: Why there are no rows, for the header line.
    why: str = ""


def local_url(settings: Settings) -> str:
    """The address ``limelight run`` listens on, as a client on this machine reaches it
    (``[server] public_url`` may be a proxy in front of another machine: not asked)."""
    host = settings.server.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def ask_server(settings: Settings, timeout: float = SERVER_TIMEOUT) -> ServerAnswer:
    """The running server's plugin statuses, or why they could not be had."""
    url = local_url(settings)
    if settings.server.port == 0:
        return ServerAnswer(url, why="[server] port is 0 (a random port): no server to ask")
    request = urllib.request.Request(
        url + "/-/plugins.json",
        headers={"Authorization": f"Bearer {settings.security.admin_token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (401, 403) and not settings.security.admin_token:
            why = f"a server answers at {url}, but this config has no security.admin_token"
        elif exc.code in (401, 403):
            why = f"the server at {url} refused the admin token (HTTP {exc.code})"
        else:
            why = f"{url} answered HTTP {exc.code}: not a Limelight server?"
        return ServerAnswer(url, reachable=True, why=why)
    except TimeoutError:
        return ServerAnswer(url, reachable=True, why=f"{url} did not answer within {timeout:g} s")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return ServerAnswer(
                url, reachable=True, why=f"{url} did not answer within {timeout:g} s"
            )
        return ServerAnswer(url, why=f"nothing answers at {url}")
    except ValueError:  # not JSON
        return ServerAnswer(url, reachable=True, why=f"{url} is not a Limelight server")
    rows = body.get("plugins") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        return ServerAnswer(url, reachable=True, why=f"{url} is not a Limelight server")
    return ServerAnswer(url, rows=rows, reachable=True)


def checked_rows(host: PluginHost) -> list[dict[str, Any]]:
    """The plugin rows of a host that was built but not started: a plugin that would
    start is ``ready`` (not ``enabled``), and no call counts (none were made)."""
    rows = []
    for row in host.list_json():
        row = {k: v for k, v in row.items() if k != "stats"}
        if row["status"] == "enabled":
            row["status"] = READY
        rows.append(row)
    return rows


def plugins_report(settings: Settings, source: PluginSource) -> dict[str, Any]:
    """``limelight plugins``: the running server's view when one answers at the configured
    host:port, otherwise what can be checked without starting plugins; ``source`` says
    which (``"server"`` or ``"check"``) and ``note`` says it in words."""
    answer = ask_server(settings)
    if answer.rows is not None:
        return {
            "source": "server",
            "server": answer.url,
            "note": f"from the running server at {answer.url}",
            "plugins": answer.rows,
        }
    note = (
        f"checked without starting plugins: {answer.why}"
        if answer.reachable
        else f"not running: checked without starting plugins ({answer.why})"
    )
    return {
        "source": "check",
        "server": answer.url,
        "note": note,
        "plugins": checked_rows(source.host(settings)),
    }


def _calls(stats: Mapping[str, Any]) -> str:
    """``on_event 12 (1 error), startup 1``: the hooks that were called, with failures."""
    parts = []
    for hook, s in sorted(stats.items()):
        if not isinstance(s, Mapping) or not s.get("calls"):
            continue
        bad = [
            plural(n, label)
            for label, n in (("error", s.get("errors", 0)), ("timeout", s.get("timeouts", 0)))
            if n
        ]
        parts.append(f"{hook} {s['calls']}" + (f" ({', '.join(bad)})" if bad else ""))
    return ", ".join(parts)


def cmd_plugins(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    report = plugins_report(settings, args.plugin_source)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(report["note"])
    rows = report["plugins"]
    if not rows:
        print("no plugins installed")
    for row in rows:
        line = f"{row['name']:<16} {row['version']:<10} {row['status']:<9} {row['origin']}"
        if row["reason"]:
            line += f"\n{'':16} reason: {row['reason']}"
        line += f"\n{'':16} hooks: {', '.join(row['hooks']) or '-'}"
        calls = _calls(row.get("stats") or {})
        if calls:
            line += f"\n{'':16} calls: {calls}"
        print(line)
    return 0


# -- simulate ----------------------------------------------------------------------------------


SIMULATIONS: dict[str, dict[str, Any]] = {
    "tip": {"amount": "5.00", "currency": "USD", "message": "Great stream!"},
    "cheer": {"bits": 100, "message": "Cheer100 nice"},
    "subscription": {"tier": "1000", "months": 1},
    "gift_bomb": {"count": 5, "tier": "1000"},
    "donation": {"amount": "10.00", "currency": "USD", "message": "For a good cause"},
    "merch.order": {"item": "T-shirt", "amount": "25.00", "currency": "USD", "quantity": 1},
    "chat.message": {"text": "Hello from the simulator"},
    "raid": {"viewers": 42},
    "stream.online": {},
    "stream.offline": {},
}


def cmd_simulate(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    data = dict(SIMULATIONS.get(args.event, {}))
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            return _fail(f"--set expects key=value, got {item!r}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        # "7.50" stays a decimal string: amounts travel as strings, never as floats.
        data[key] = value if isinstance(parsed, float) else parsed
    body = {
        "type": args.event,
        "test": not args.real,
        "source": "simulate",
        "viewer": {"platform": "simulate", "id": args.viewer.lower(), "name": args.viewer},
        "data": data,
    }
    url = (args.url or settings.base_url()).rstrip("/") + "/api/events"
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {settings.security.admin_token}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except json.JSONDecodeError:
            pass
        return _fail(f"the server refused the event ({exc.code}): {detail}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return _fail(f"cannot reach {url}: {reason} (is `limelight run` running?)")


# -- doctor ------------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"config: FAIL  {exc}")
        return 1
    print(f"config: ok    {settings.source}")
    problems = 0
    sec = settings.security
    if not sec.admin_token:
        print("security: FAIL  security.admin_token is empty (run `limelight init`)")
        problems += 1
    if not sec.overlay_token:
        print("security: FAIL  security.overlay_token is empty (run `limelight init`)")
        problems += 1
    problems += asyncio.run(_doctor_async(settings, args.plugin_source))
    print("all good" if not problems else f"{plural(problems, 'problem')} found")
    return 1 if problems else 0


async def _doctor_async(settings: Settings, source: PluginSource | None = None) -> int:
    from .db import Database, normalise_url

    problems = 0
    host = (source or PluginSource()).host(settings)
    for row in host.list_json():
        if row["status"] == "failed":
            print(f"plugin {row['name']}: FAIL  {row['reason']}")
            problems += 1
    problems += await _check_plugins(host)
    problems += _check_webhooks(settings, host)
    db = Database(
        normalise_url(settings.database.url, settings.base_dir),
        host.models.values(),
        connect_timeout=settings.database.connect_timeout,
    )
    try:
        await db.open(migrate=False)
        print(f"database: ok    {db.describe()}")
    except DatabaseError as exc:
        print(f"database: FAIL  {exc}")
        problems += 1
    finally:
        await db.close()
    for check in DOCTOR_CHECKS:
        problems += await check(settings)
    return problems


async def _check_plugins(host: PluginHost) -> int:
    """Every enabled plugin's ``DoctorCheck``s (``register_doctor_checks``), each plugin's
    results under its name; returns the number of problems."""
    with _quiet():
        results = await host.doctor()
        off = host.doctor_off()
    lines: dict[str, list[str]] = {}
    problems = 0
    for plugin, title, found in results:
        out = lines.setdefault(plugin, [])
        if not found:
            out.append(f"  ok    {title}")
        out.extend(f"  FAIL  {title}: {problem}" for problem in found)
        problems += len(found)
    for plugin, title, reason in off:
        lines.setdefault(plugin, []).append(f"  off   {title}: {reason}")
    for plugin in sorted(lines):
        print(f"plugin {plugin}:")
        print("\n".join(lines[plugin]))
    return problems


def webhook_problems(settings: Settings, host: PluginHost) -> list[tuple[str, str]]:
    """``(table name, problem)`` for every ``[webhooks.<name>]`` table that no enabled
    plugin provides or that its provider refuses; each problem names the key, never a
    value (these tables hold secrets)."""
    providers = host.webhook_providers
    found: list[tuple[str, str]] = []
    for name in sorted(settings.webhooks):
        provider = providers.get(name)
        if provider is None:
            known = ", ".join(sorted(p.name for p in providers.values())) or "none"
            found.append(
                (
                    name,
                    f"[webhooks.{name}]: no installed plugin provides /webhooks/{name} "
                    f"(providers: {known})",
                )
            )
            continue
        # (the settings model already made every [webhooks.*] entry a table)
        checked = provider.check_config(settings.webhooks[name]) if provider.check_config else []
        found.extend((name, problem) for problem in checked)
    return found


def _check_webhooks(settings: Settings, host: PluginHost) -> int:
    """Each ``[webhooks.<name>]`` table has a provider, and the provider accepts it."""
    if not settings.webhooks:
        print(
            "webhooks: off   no [webhooks.*] table: no payment provider can reach "
            "/webhooks/<name> (docs/tips.md)"
        )
        return 0
    problems = webhook_problems(settings, host)
    for _, problem in problems:
        print(f"webhooks: FAIL  {problem}")
    wrong = {name for name, _ in problems}
    for name in sorted(settings.webhooks):
        if name not in wrong:
            print(f"webhooks: ok    {name} at {settings.base_url()}/webhooks/{name}")
    return len(problems)


#: Further core checks (chat, OBS): ``async def check(settings) -> number of problems``.
#: Plugins add theirs through ``register_doctor_checks``, never here.
DOCTOR_CHECKS: list[Callable[[Settings], Awaitable[int]]] = []


# -- plugin new ----------------------------------------------------------------------------------


def cmd_plugin_new(args: argparse.Namespace) -> int:
    from .scaffold import ScaffoldError, create

    try:
        folder, files = create(args.name, Path(args.dir))
    except ScaffoldError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the plugin package: {exc}")
    print(f"wrote {folder}:")
    for path in files:
        print(f"  {path.relative_to(folder)}")
    print(
        "next:\n"
        f"  cd {folder}\n"
        '  pip install -e ".[test]"     # next to Limelight, in the same environment\n'
        f"  pytest && mypy --strict limelight_{args.name} tests\n"
        f"  limelight plugins            # lists {args.name}"
    )
    return 0


# -- entry point -------------------------------------------------------------------------------


def _with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--config", help="config file (default: $LIMELIGHT_CONFIG or ./config.toml)")
    return p


@dataclass(frozen=True)
class PluginSubcommand:
    """A plugin's ``CliCommand`` whose options were added without error (``parent``)."""

    owner: str
    command: CliCommand
    parent: argparse.ArgumentParser
    settings: Settings


def plugin_subcommands(host: PluginHost) -> tuple[list[PluginSubcommand], list[str]]:
    """The enabled plugins' CLI commands, each with its options added to a parser of its
    own first: a plugin whose ``arguments(parser)`` fails (or clashes with ``--config``) is
    disabled with the reason, and its commands are left out. Returns the commands and one
    line per plugin so refused."""
    ready: list[PluginSubcommand] = []
    refused: list[str] = []
    for owner, command in host.cli_commands.items():
        parent = _with_config(argparse.ArgumentParser(add_help=False))
        try:
            if command.arguments is not None:
                command.arguments(parent)
        except Exception as exc:
            reason = f"CLI command {command.name!r}: arguments() failed: {_describe(exc)}"
            host.disable(owner, reason)
            refused.append(f"plugin {owner} disabled: {reason}")
            continue
        ready.append(PluginSubcommand(owner, command, parent, host.app_settings))
    enabled = set(host.enabled)
    return [r for r in ready if r.owner in enabled], refused


def _plugin_runner(sub: PluginSubcommand) -> Callable[[argparse.Namespace], int]:
    """Run a plugin's command: awaited when async; an exception is one line naming the
    plugin, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        if not logging.getLogger().handlers:  # a real process (tests keep their handlers)
            setup_logging(sub.settings)
        try:
            result = sub.command.run(args)
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            return _fail(f"{sub.command.name} (plugin {sub.owner}) failed: {_describe(exc)}")
        return result if isinstance(result, int) else 0

    return run


async def _awaited(result: Awaitable[int]) -> int:
    return await result


def build_parser(
    plugin_commands: Sequence[PluginSubcommand] = (), source: PluginSource | None = None
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="limelight",
        description="Self-hosted chat-bot and overlay server for live streamers.",
        # Room for plugin command names such as ``twitch-probe`` on the same line as help.
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=32),
    )
    parser.add_argument("--version", action="version", version=f"limelight {__version__}")
    parser.set_defaults(plugin_source=source or PluginSource())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    with_config = _with_config

    p = sub.add_parser("init", help="write config.toml with fresh secrets")
    p.add_argument("--dir", default=".", help="folder to write config.toml into")
    p.set_defaults(func=cmd_init)

    p = with_config(sub.add_parser("run", help="serve until SIGTERM/SIGINT"))
    p.add_argument("--host", help="address to listen on (server.host)")
    p.add_argument("--port", type=int, help="port to listen on (server.port)")
    p.set_defaults(func=cmd_run)

    p = with_config(
        sub.add_parser(
            "plugins",
            help="list plugins with their status",
            description="The running server's plugin statuses when one answers at the "
            "configured host:port; otherwise what can be checked without starting plugins.",
        )
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plugins)

    p = with_config(sub.add_parser("simulate", help="send a test event to a running server"))
    p.add_argument("event", help=f"event type, e.g. {', '.join(SIMULATIONS)}")
    p.add_argument("--viewer", default="TestViewer", help="display name of the viewer")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a data field")
    p.add_argument("--real", action="store_true", help="send a real (non-test) event")
    p.add_argument("--url", help="server URL (default: from the config)")
    p.set_defaults(func=cmd_simulate)

    p = with_config(sub.add_parser("doctor", help="check config, database, plugins, chat and OBS"))
    p.set_defaults(func=cmd_doctor)

    for extend in PARSER_EXTENSIONS:
        extend(sub, with_config)

    p = sub.add_parser("plugin", help="tools for plugin authors (new)")
    actions = p.add_subparsers(dest="plugin_command", required=True, metavar="ACTION")
    p = actions.add_parser(
        "new",
        help="write a ready package for a new plugin",
        description="Write limelight-NAME/: pyproject.toml with the entry point, the plugin "
        "class with a typed config and a command, a migrations package, tests using the "
        "test kit and a README. It installs, passes its tests and mypy --strict as written. "
        "Never overwrites.",
    )
    p.add_argument("name", help="the plugin's name: a lowercase identifier, e.g. hype")
    p.add_argument("--dir", default=".", help="folder to create limelight-NAME/ in")
    p.set_defaults(func=cmd_plugin_new)

    for item in plugin_commands:
        p = sub.add_parser(
            item.command.name,
            help=f"{item.command.help} [plugin {item.owner}]",
            description=item.command.help,
            parents=[item.parent],
        )
        p.set_defaults(func=_plugin_runner(item))
    return parser


#: Further core sub-commands (``limelight obs setup``) add ``extend(subparsers, with_config)``.
PARSER_EXTENSIONS: list[
    Callable[[Any, Callable[[argparse.ArgumentParser], argparse.ArgumentParser]], None]
] = []

from .chat import doctor as _chat_doctor  # noqa: E402
from .obs import commands as _obs_commands  # noqa: E402

DOCTOR_CHECKS.append(_obs_commands.doctor_check)
DOCTOR_CHECKS.append(_chat_doctor.check_chat)
PARSER_EXTENSIONS.append(_obs_commands.extend_parser)


def _command_word(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: the first word that is neither an option nor the
    value of ``--config`` (the only option before it that takes one)."""
    after_config = False
    for arg in argv:
        if arg == "--":
            return None
        if after_config:
            after_config = False
        elif arg == "--config":
            after_config = True
        elif not arg.startswith("-"):
            return arg
    return None


def _config_option(argv: Sequence[str]) -> str | None:
    """``--config PATH`` (or ``--config=PATH``) wherever it is in ``argv``."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
    return None


def main(
    argv: Sequence[str] | None = None,
    *,
    plugins: Mapping[str, object] | None = None,
    entry_points: bool = True,
) -> int:
    """Run one ``limelight`` command; returns its exit code.

    ``plugins`` (name -> plugin class, instance or module) are loaded next to (or, with
    ``entry_points=False``, instead of) the installed ones, as ``create_app`` does: this is
    how a test gives the CLI a plugin without installing a distribution.

    The plugin host is built up front only when the command is not one of the core's
    (``--help``, or a plugin's command): ``limelight run`` and the others never pay for it
    twice, and a broken plugin cannot break ``limelight init``.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    source = PluginSource(dict(plugins or {}), entry_points)
    extra: list[PluginSubcommand] = []
    word = _command_word(args_list)
    if word not in CORE_CLI_COMMANDS:
        try:
            settings = load_settings(_config_option(args_list))
        except ConfigError as exc:
            if word is not None:  # a plugin's command cannot run without its config
                return _fail(str(exc), EXIT_CONFIG)
            print(f"limelight: plugin commands are not listed: {exc}", file=sys.stderr)
        else:
            loaded = source.load(settings)
            for line in loaded.refused:
                print(f"limelight: {line}", file=sys.stderr)
            extra = loaded.commands
    parser = build_parser(extra, source)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, a usage error: argparse printed it
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        code: int = args.func(args)
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        # `limelight plugins | head`: the reader left. Say nothing more (as Unix tools do);
        # stdout goes to /dev/null so that the interpreter's own flush at exit cannot
        # raise the same error again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    if args.command == "run":
        # A failed start must not linger on a database driver's worker thread, nor a
        # stopped server (whose cleanup ran, within its budget) on a connection that a
        # database which stopped answering never releases.
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
