"""``limelight obs setup`` and the OBS check of ``limelight doctor``.

Setup puts a browser source for every registered overlay (URL with the overlay token, the
overlay's suggested size) into one OBS scene, so a newcomer never copies a URL by hand.
It reads everything first and changes OBS only when the whole plan can be carried out:
an OBS without the Browser source (Debian's and Ubuntu's own ``obs-studio`` packages are
built without CEF) gets a plain refusal and stays untouched. Running it twice changes
nothing the second time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from ..text import plural
from .client import ObsLink
from .errors import NOT_FOUND, ObsAuthError, ObsError, ObsRequestError, ObsUnavailable

if TYPE_CHECKING:
    from ..config import ObsConnectionSettings, Settings
    from ..registry import Overlay

DEFAULT_SCENE = "Limelight"
BROWSER_KIND = "browser_source"
#: Text source kinds by preference: GDI+ on Windows, FreeType 2 on Linux and macOS.
TEXT_KINDS = (
    "text_gdiplus_v3",
    "text_gdiplus_v2",
    "text_ft2_source_v2",
    "text_gdiplus",
    "text_ft2_source",
)
EXIT_REFUSED = 1
EXIT_USAGE = 2

NO_BROWSER = """\
this OBS has no Browser source: obs-websocket lists no "browser_source" input kind, so \
the overlays cannot be added to it. Debian's and Ubuntu's own obs-studio packages are \
built without it (no CEF).
  What to do: install OBS Studio from the OBS project (https://obsproject.com/download; \
on Ubuntu the PPA ppa:obsproject/obs-studio) or the Flatpak \
(flatpak install flathub com.obsproject.Studio), then run `limelight obs setup` again.
  Nothing was changed in OBS."""


def overlay_source_name(overlay: Overlay) -> str:
    """The OBS input name setup uses for an overlay (stable, so reruns find it)."""
    return f"Limelight {overlay.name}"


def text_kind(kinds: Iterable[str]) -> str | None:
    """The text source kind this OBS has, or None."""
    available = set(kinds)
    return next((k for k in TEXT_KINDS if k in available), None)


@dataclass
class Source:
    name: str
    kind: str
    settings: dict[str, Any]
    #: Keys that must match on a rerun (a text's words are the streamer's business).
    managed: tuple[str, ...]
    label: str
    #: What to do: create, update (settings), place (add to the scene), ok.
    steps: list[str] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)


class SetupRefused(Exception):
    """Setup cannot be carried out as a whole; ``str()`` says why and what to do."""


class Setup:
    """Plan, then apply: every read happens before the first change."""

    def __init__(self, request: Callable[..., dict[str, Any]], scene: str) -> None:
        self.request = request
        self.scene = scene
        self.create_scene = False
        self.sources: list[Source] = []

    def plan(self, overlays: list[tuple[Overlay, str]], texts: list[str]) -> None:
        kinds = self.request("GetInputKindList")["inputKinds"]
        # Checked first: without the Browser source there is no Limelight setup to make
        # (unless only text sources were asked for).
        if (overlays or not texts) and BROWSER_KIND not in kinds:
            raise SetupRefused(NO_BROWSER)
        tkind = text_kind(kinds)
        if texts and tkind is None:
            raise SetupRefused(
                f"this OBS has no text source kind ({', '.join(TEXT_KINDS)}); "
                "nothing was changed in OBS."
            )
        for overlay, url in overlays:
            self.sources.append(
                Source(
                    overlay_source_name(overlay),
                    BROWSER_KIND,
                    {"url": url, "width": overlay.width, "height": overlay.height},
                    ("url", "width", "height"),
                    f"browser source for overlay {overlay.name} ({overlay.width}x{overlay.height})",
                )
            )
        for name in texts:
            assert tkind is not None
            self.sources.append(Source(name, tkind, {"text": ""}, (), f"text source ({tkind})"))
        scenes = {s["sceneName"] for s in self.request("GetSceneList")["scenes"]}
        self.create_scene = self.scene not in scenes
        existing = {i["inputName"]: i["inputKind"] for i in self.request("GetInputList")["inputs"]}
        problems = []
        for source in self.sources:
            kind = existing.get(source.name)
            if kind is None:
                if source.name in scenes:
                    problems.append(f"{source.name!r} is the name of a scene in OBS")
                source.steps = ["create"]
                continue
            if kind != source.kind:
                problems.append(
                    f"an input named {source.name!r} exists but is a {kind}, not a {source.kind}"
                )
                continue
            current = self.request("GetInputSettings", {"inputName": source.name})
            have = current.get("inputSettings", {})
            source.changes = {
                k: source.settings[k] for k in source.managed if have.get(k) != source.settings[k]
            }
            if source.changes:
                source.steps.append("update")
            if self.create_scene or not self._in_scene(source.name):
                source.steps.append("place")
            if not source.steps:
                source.steps = ["ok"]
        if problems:
            raise SetupRefused(
                "; ".join(problems) + ". Rename or remove it in OBS, then run "
                "`limelight obs setup` again. Nothing was changed in OBS."
            )

    def _in_scene(self, name: str) -> bool:
        try:
            self.request("GetSceneItemId", {"sceneName": self.scene, "sourceName": name})
        except ObsRequestError as exc:
            if exc.code == NOT_FOUND:
                return False
            raise
        return True

    @property
    def changes(self) -> int:
        return int(self.create_scene) + sum(s.steps != ["ok"] for s in self.sources)

    def apply(self, out: TextIO, mask: Callable[[str], str]) -> None:
        if self.create_scene:
            self.request("CreateScene", {"sceneName": self.scene})
            print(f"  created scene {self.scene!r}", file=out)
        for source in self.sources:
            for step in source.steps:
                if step == "create":
                    self.request(
                        "CreateInput",
                        {
                            "sceneName": self.scene,
                            "inputName": source.name,
                            "inputKind": source.kind,
                            "inputSettings": source.settings,
                            "sceneItemEnabled": True,
                        },
                    )
                    print(f"  created {source.label}: {source.name!r}", file=out)
                elif step == "update":
                    self.request(
                        "SetInputSettings",
                        {
                            "inputName": source.name,
                            "inputSettings": source.changes,
                            "overlay": True,
                        },
                    )
                    print(
                        f"  updated {source.name!r}: {', '.join(sorted(source.changes))}", file=out
                    )
                elif step == "place":
                    self.request(
                        "CreateSceneItem",
                        {
                            "sceneName": self.scene,
                            "sourceName": source.name,
                            "sceneItemEnabled": True,
                        },
                    )
                    print(f"  added {source.name!r} to scene {self.scene!r}", file=out)
                else:
                    print(f"  unchanged {source.name!r}", file=out)
            if source.kind == BROWSER_KIND and source.steps != ["ok"]:
                print(f"      {mask(source.settings['url'])}", file=out)


def find_connection(settings: Settings, name: str) -> ObsConnectionSettings:
    for conn in settings.obs.connection_settings():
        if conn.name == name:
            return conn
    names = ", ".join(c.name for c in settings.obs.connection_settings())
    raise ObsError(f"no OBS connection named {name!r} (configured: {names})")


def run_setup(
    settings: Settings,
    overlays: Iterable[Overlay],
    *,
    scene: str = DEFAULT_SCENE,
    connection: str = "main",
    texts: Iterable[str] = (),
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """The whole command; returns the exit code. Messages go to ``out``/``err``."""
    out = out or sys.stdout
    err = err or sys.stderr

    def fail(message: str, code: int = EXIT_REFUSED) -> int:
        print(f"limelight: {message}", file=err)
        return code

    try:
        conn = find_connection(settings, connection)
    except ObsError as exc:
        return fail(str(exc), EXIT_USAGE)
    token = settings.security.overlay_token
    overlays = sorted(overlays, key=lambda o: o.name)
    texts = list(dict.fromkeys(texts))
    if not scene.strip():
        return fail("--scene must not be empty", EXIT_USAGE)
    if overlays and not token:
        return fail(
            "security.overlay_token is empty, so overlay URLs would not work; run "
            "`limelight init` or set LIMELIGHT_SECURITY__OVERLAY_TOKEN. Nothing was "
            "changed in OBS."
        )
    base = settings.base_url()
    wanted = [(o, f"{base}/overlays/{o.name}?token={token}") for o in overlays]

    def mask(url: str) -> str:
        return url.replace(f"token={token}", "token=<security.overlay_token>") if token else url

    link = ObsLink(conn.host, conn.port, conn.password, conn.timeout)
    try:
        link.connect()
    except ObsUnavailable as exc:
        if not settings.obs.enabled:
            # Not "is OBS running?": the streamer switched OBS off, perhaps on purpose.
            return fail(
                f"OBS is disabled in the config ([obs] enabled = false), and nothing answers "
                f"at {conn.host}:{conn.port}. To let Limelight set up OBS: turn on OBS's "
                "WebSocket server (Tools > WebSocket Server Settings), set [obs] enabled = "
                "true with its host, port and password, then run `limelight obs setup` "
                "again. Nothing was changed in OBS."
            )
        return fail(f"cannot set up OBS {conn.name}: {exc}")
    try:
        setup = Setup(link.request, scene)
        try:
            setup.plan(wanted, texts)
        except SetupRefused as exc:
            return fail(str(exc))
        if not setup.sources:
            return fail(
                "no overlays are registered (no enabled plugin provides one) and no "
                "--text was given: nothing to add to OBS."
            )
        print(f"OBS {conn.name} at {conn.host}:{conn.port}, scene {scene!r}:", file=out)
        if not setup.changes:
            for source in setup.sources:
                print(f"  unchanged {source.name!r}", file=out)
            print("nothing to change: OBS is already set up", file=out)
            return 0
        setup.apply(out, mask)
    except ObsError as exc:
        return fail(
            f"setting up OBS {conn.name} failed part way: {exc}. Run "
            "`limelight obs setup` again once the cause is fixed; it picks up "
            "where it stopped."
        )
    finally:
        link.close()
    if not settings.obs.enabled:
        print(
            "note: [obs] enabled = false, so Limelight will not drive OBS while it runs "
            "(scene switches, rules) until you turn it on.",
            file=out,
        )
    if conn.host not in ("127.0.0.1", "localhost", "::1") and not settings.server.public_url:
        print(
            f"note: OBS runs on {conn.host}, but the sources point at {base}; set "
            "server.public_url to an address OBS's machine can reach and run setup again.",
            file=out,
        )
    print(f"done: {plural(setup.changes, 'change')} in OBS", file=out)
    return 0


# -- CLI -----------------------------------------------------------------------------------------


def cmd_obs_setup(args: argparse.Namespace) -> int:
    from ..config import ConfigError, load_settings
    from ..web.app import build_host

    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"limelight: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.CRITICAL)
    host = build_host(settings)
    return run_setup(
        settings,
        host.overlays.values(),
        scene=args.scene,
        connection=args.connection,
        texts=args.text or (),
    )


def extend_parser(
    sub: Any, with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
) -> None:
    """Add ``limelight obs setup`` (registered through ``cli.PARSER_EXTENSIONS``)."""
    obs = sub.add_parser("obs", help="OBS Studio helpers (setup)")
    actions = obs.add_subparsers(dest="obs_command", required=True, metavar="ACTION")
    p = with_config(
        actions.add_parser(
            "setup",
            help="add a browser source for every overlay to an OBS scene",
            description="Create the scene (if missing) and a browser source for every "
            "overlay, with its URL, token and size. Safe to run again.",
        )
    )
    p.add_argument(
        "--scene",
        default=DEFAULT_SCENE,
        help=f"scene to put the sources in (default: {DEFAULT_SCENE})",
    )
    p.add_argument(
        "--connection",
        default="main",
        help="which OBS, by its [obs] connection name (default: main)",
    )
    p.add_argument(
        "--text",
        action="append",
        metavar="NAME",
        help="also create a text source NAME (for a total or a goal); repeatable",
    )
    p.set_defaults(func=cmd_obs_setup)


async def doctor_check(settings: Settings) -> int:
    """``limelight doctor``: can we reach every configured OBS, with the password?"""
    if not settings.obs.enabled:
        print("obs: off   [obs] enabled = false")
        return 0
    problems = 0
    for conn in settings.obs.connection_settings():
        label = "obs" if conn.name == "main" else f"obs {conn.name}"
        link = ObsLink(conn.host, conn.port, conn.password, conn.timeout)
        try:
            await asyncio.to_thread(link.connect)
            version = await asyncio.to_thread(link.request, "GetVersion")
            kinds = (await asyncio.to_thread(link.request, "GetInputKindList"))["inputKinds"]
        except ObsAuthError as exc:
            print(f"{label}: FAIL  {exc}")
            problems += 1
            continue
        except ObsError as exc:
            print(f"{label}: FAIL  {exc}")
            problems += 1
            continue
        finally:
            await asyncio.to_thread(link.close)
        print(
            f"{label}: ok    OBS {version.get('obsVersion')} (obs-websocket "
            f"{version.get('obsWebSocketVersion')}) at {conn.host}:{conn.port}"
        )
        if BROWSER_KIND not in kinds:
            print(
                f"{label}: note  this OBS has no Browser source, so overlays cannot be "
                "added to it; see docs/obs.md"
            )
    return problems
