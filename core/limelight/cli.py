"""The ``limelight`` command: init, run, plugins, simulate, doctor.

Startup failures (bad config, a taken port, an unreachable database) print one line that
says what is wrong and exit non-zero within seconds; nothing is left running behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from . import __version__
from .config import ConfigError, Settings, load_settings, write_initial_config
from .db import DatabaseError
from .logs import setup_logging

EXIT_CONFIG = 2
EXIT_STARTUP = 3


def _fail(message: str, code: int = 1) -> int:
    print(f"limelight: {message}", file=sys.stderr)
    return code


def _settings(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Settings:
    return load_settings(getattr(args, "config", None), overrides=overrides)


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


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> int:
    from aiohttp import web

    from .web.app import create_app
    from .web.keys import HOST

    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=3.0)
    try:
        await runner.setup()
    except DatabaseError as exc:
        await runner.cleanup()
        return _fail(str(exc), EXIT_STARTUP)
    except Exception as exc:
        await runner.cleanup()
        return _fail(f"startup failed: {type(exc).__name__}: {exc}", EXIT_STARTUP)
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        reason = "is already in use" if exc.errno in (98, 48, 10048) else f"failed: {exc.strerror}"
        return _fail(
            f"cannot listen on {settings.server.host}:{settings.server.port}: address {reason}",
            EXIT_STARTUP,
        )
    port = settings.server.port
    if port == 0:  # an ephemeral port: report the real one
        port = runner.addresses[0][1]
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
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        print("Limelight stopping", flush=True)
        await runner.cleanup()
    return 0


# -- plugins -----------------------------------------------------------------------------------


def cmd_plugins(args: argparse.Namespace) -> int:
    from .web.app import build_host

    try:
        settings = _settings(args)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    logging.basicConfig(level=logging.CRITICAL)
    host = build_host(settings)
    rows = host.list_json()
    if args.json:
        print(json.dumps({"plugins": rows}, indent=2))
        return 0
    if not rows:
        print("no plugins installed")
    for row in rows:
        line = f"{row['name']:<16} {row['version']:<10} {row['status']:<9} {row['origin']}"
        if row["reason"]:
            line += f"\n{'':16} reason: {row['reason']}"
        line += f"\n{'':16} hooks: {', '.join(row['hooks']) or '-'}"
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
    problems += asyncio.run(_doctor_async(settings))
    print("all good" if not problems else f"{problems} problem(s) found")
    return 1 if problems else 0


async def _doctor_async(settings: Settings) -> int:
    from .db import Database, normalise_url
    from .web.app import build_host

    logging.basicConfig(level=logging.CRITICAL)
    problems = 0
    host = build_host(settings)
    for row in host.list_json():
        if row["status"] == "failed":
            print(f"plugin {row['name']}: FAIL  {row['reason']}")
            problems += 1
    problems += _check_webhooks(settings, host)
    db = Database(normalise_url(settings.database.url, settings.base_dir), host.models.values())
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


def _check_webhooks(settings: Settings, host: Any) -> int:
    """Each ``[webhooks.<name>]`` table has a provider, and the provider accepts it."""
    tables = settings.webhooks
    providers = host.webhook_providers
    if not tables:
        print(
            "webhooks: off   no [webhooks.*] table: no payment provider can reach "
            "/webhooks/<name> (docs/tips.md)"
        )
        return 0
    problems = 0
    for name in sorted(tables):
        provider = providers.get(name)
        if provider is None:
            known = ", ".join(sorted(p.name for p in providers.values())) or "none"
            print(
                f"webhooks: FAIL  [webhooks.{name}]: no installed plugin provides "
                f"/webhooks/{name} (providers: {known})"
            )
            problems += 1
            continue
        # (the settings model already made every [webhooks.*] entry a table)
        found = provider.check_config(tables[name]) if provider.check_config else []
        for problem in found:
            print(f"webhooks: FAIL  {problem}")
        problems += len(found)
        if not found:
            print(f"webhooks: ok    {name} at {settings.base_url()}/webhooks/{name}")
    return problems


#: Further checks (chat, OBS) add ``async def check(settings) -> number of problems``.
DOCTOR_CHECKS: list[Any] = []


# -- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="limelight",
        description="Self-hosted chat-bot and overlay server for live streamers.",
    )
    parser.add_argument("--version", action="version", version=f"limelight {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="config file (default: $LIMELIGHT_CONFIG or ./config.toml)")
        return p

    p = sub.add_parser("init", help="write config.toml with fresh secrets")
    p.add_argument("--dir", default=".", help="folder to write config.toml into")
    p.set_defaults(func=cmd_init)

    p = with_config(sub.add_parser("run", help="serve until SIGTERM/SIGINT"))
    p.add_argument("--host", help="address to listen on (server.host)")
    p.add_argument("--port", type=int, help="port to listen on (server.port)")
    p.set_defaults(func=cmd_run)

    p = with_config(sub.add_parser("plugins", help="list plugins with their status"))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plugins)

    p = with_config(sub.add_parser("simulate", help="send a test event to a running server"))
    p.add_argument("event", help=f"event type, e.g. {', '.join(SIMULATIONS)}")
    p.add_argument("--viewer", default="TestViewer", help="display name of the viewer")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a data field")
    p.add_argument("--real", action="store_true", help="send a real (non-test) event")
    p.add_argument("--url", help="server URL (default: from the config)")
    p.set_defaults(func=cmd_simulate)

    p = with_config(sub.add_parser("doctor", help="check config, database, chat and OBS"))
    p.set_defaults(func=cmd_doctor)

    for extend in PARSER_EXTENSIONS:
        extend(sub, with_config)
    return parser


#: Further sub-commands (``limelight obs setup``) add ``extend(subparsers, with_config)``.
PARSER_EXTENSIONS: list[Any] = []

from .chat import doctor as _chat_doctor  # noqa: E402
from .obs import commands as _obs_commands  # noqa: E402

DOCTOR_CHECKS.append(_obs_commands.doctor_check)
DOCTOR_CHECKS.append(_chat_doctor.check_chat)
PARSER_EXTENSIONS.append(_obs_commands.extend_parser)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = args.func(args)
    sys.stdout.flush()
    sys.stderr.flush()
    if code and args.command == "run":
        # A failed start must not linger on a database driver's worker thread.
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
