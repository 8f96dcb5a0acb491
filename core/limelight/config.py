"""Settings: TOML validated into typed models, with environment overrides.

The file is found through ``--config``, else ``LIMELIGHT_CONFIG``, else ``./config.toml``.
Any key can be overridden by an environment variable named after its dotted path:
``LIMELIGHT_SERVER__PORT=8700`` sets ``server.port``. Secrets belong in the environment.

Every error names the file (or the variable), the key, and what was expected, because a
streamer reading it at 8 pm before a stream has no time to guess.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .obs.rules import ObsRule
from .obs.rules import check_connections as check_rule_connections
from .obs.rules import config_error as rule_error

ENV_PREFIX = "LIMELIGHT_"
#: An origin: scheme, host and an optional port, nothing after.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
DEFAULT_CONFIG = "config.toml"


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is a one-line cause for the streamer."""


class Section(BaseModel):
    """Base of every settings table: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class PluginConfig(Section):
    """Base for a plugin's ``[plugins.<name>]`` model; unknown keys are rejected."""


class NoConfig(PluginConfig):
    """The config of a plugin that declares none: an empty table, so ``ctx.config`` is
    never ``None`` and a misplaced key in ``[plugins.<name>]`` is still an error."""


#: A plugin's config model, as ``PluginContext[ConfigT]`` and ``Plugin[ConfigT]`` carry it.
ConfigT = TypeVar("ConfigT", bound=BaseModel, covariant=True)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8600, ge=0, le=65535)
    #: The address viewers and OBS use to reach this server (links in chat, overlay URLs).
    public_url: str = ""
    #: The channel's name as viewers know it, at the top of the pages they open from chat
    #: (tip and join links, the drop, the challenges); empty: "Limelight".
    name: str = Field("", max_length=60)
    #: Largest request body the API accepts, in bytes.
    max_body: int = Field(1024 * 1024, ge=1024)
    #: How amounts read everywhere (alerts, chat, boards, dashboard): "en_US" shows
    #: $5.00, "de_DE" 5,00 €, "en_GB" US$5.00 (a CLDR locale name).
    locale: str = Field("en_US", pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
    #: Seconds a client has to send its whole request head; slower connections are closed.
    header_timeout: float = Field(10.0, gt=0, le=300)
    #: Most client connections open at once (overlay pages included); lowered at startup
    #: to stay below the process's open-file limit. At the cap, the oldest connection that
    #: has not sent its request yet makes room, or the new one is refused.
    max_connections: int = Field(1000, ge=16)


class SecuritySettings(Section):
    admin_token: str = ""
    overlay_token: str = ""
    #: Optional dashboard password (the admin token also logs in).
    admin_password: str = ""
    #: Hours a dashboard login lasts before the streamer logs in again.
    session_hours: float = Field(12.0, gt=0, le=24 * 366)
    #: Wrong dashboard logins from one address before it must wait (429).
    login_attempts: int = Field(5, ge=1, le=1000)
    #: Seconds of the first wait; each further lockout doubles it, up to an hour.
    login_lockout: float = Field(60.0, gt=0, le=3600)


class DatabaseSettings(Section):
    url: str = "sqlite://data/limelight.sqlite3"
    #: Seconds to wait for the database to answer at startup before giving up.
    connect_timeout: float = Field(2.5, gt=0, le=120)


class MediaSettings(Section):
    """``[media]``: where uploaded images, sounds and videos are kept, and how big each
    kind may be (bytes)."""

    #: The media folder (relative paths are relative to the config file).
    dir: str = "data/media"
    max_image_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    max_audio_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_video_bytes: int = Field(50 * 1024 * 1024, ge=1024)

    def folder(self, base_dir: Path) -> Path:
        folder = Path(self.dir)
        return folder if folder.is_absolute() else base_dir / folder

    def limits(self) -> dict[str, int]:
        return {
            "image": self.max_image_bytes,
            "audio": self.max_audio_bytes,
            "video": self.max_video_bytes,
        }


class ObsConnectionSettings(Section):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    host: str = "127.0.0.1"
    port: int = Field(4455, ge=1, le=65535)
    password: str = ""
    timeout: float = Field(5.0, gt=0)


class ObsSettings(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(4455, ge=1, le=65535)
    password: str = ""
    #: Seconds before an OBS request (or a connection attempt) is given up.
    timeout: float = Field(5.0, gt=0)
    #: Seconds a momentary action (a scene switch, a shown source, a media restart) may
    #: wait for an unreachable OBS before it is dropped; see docs/obs.md.
    max_delay: float = Field(10.0, ge=0)
    #: More OBS instances by name, in addition to the one above (named "main").
    connections: list[ObsConnectionSettings] = []
    #: Event -> action rules, see docs/obs.md.
    rules: list[ObsRule] = []

    @model_validator(mode="after")
    def _check_names(self) -> ObsSettings:
        names = ["main"]
        for conn in self.connections:
            if conn.name in names:
                raise rule_error(
                    f"obs.connections: the name {conn.name!r} is used twice "
                    '(the [obs] table itself is "main")'
                )
            names.append(conn.name)
        check_rule_connections(self.rules, names)
        return self

    def connection_settings(self) -> list[ObsConnectionSettings]:
        """Every connection, ``main`` first."""
        main = ObsConnectionSettings(
            name="main",
            host=self.host,
            port=self.port,
            password=self.password,
            timeout=self.timeout,
        )
        return [main, *self.connections]


class AlertVariationSettings(Section):
    """One ``[[overlays.<overlay>.variations]]`` entry: how one kind of alert looks at one
    tier on that overlay (``[[overlays.alerts.variations]]`` for the ``alerts`` overlay)."""

    #: Alert kind (``tip``, ``cheer``, ``gift_bomb``, ...) or ``*`` for any.
    event: str
    name: str = ""
    #: Tier threshold in major units of ``currency`` ("20.00"); compared in minor units.
    min_amount: str = ""
    currency: str = ""
    #: Tier threshold on a count (gift bomb size, raid viewers, cheer bits).
    min_count: int = Field(0, ge=0)
    #: Text with ``{name}``, ``{amount}``, ``{message}``, ``{count}``, ... placeholders.
    text: str = ""
    duration_ms: int | None = Field(None, ge=500, le=120_000)
    image: str = ""
    sound: str = ""
    volume: float = Field(1.0, ge=0, le=1)
    #: How the alert comes in and goes out: fade, slide, zoom, bounce, none ("" = theme's).
    animation: Literal["", "fade", "slide", "zoom", "bounce", "none"] = ""

    @model_validator(mode="after")
    def _amount_needs_currency(self) -> AlertVariationSettings:
        if self.min_amount:
            from .money import Money, MoneyError

            try:
                Money.parse(self.min_amount, self.currency)
            except MoneyError as exc:
                raise ValueError(f"min_amount/currency: {exc}") from None
        return self


class AlertSettings(Section):
    """``[overlays.<overlay>]``: how the alerts of one overlay look."""

    #: How long an alert stays on screen unless its variation says otherwise.
    duration_ms: int = Field(6000, ge=500, le=120_000)
    variations: list[AlertVariationSettings] = []


class OverlaySettings(Section):
    """``[overlays]``: settings of every overlay, plus one ``[overlays.<overlay>]`` table
    per overlay that plays alerts (keyed by overlay name, whichever plugin registers it)."""

    # Tables named after an overlay are the extra keys, each an AlertSettings.
    model_config = ConfigDict(extra="allow", validate_default=True)
    __pydantic_extra__: dict[str, AlertSettings] = Field(init=False)

    #: A folder of your own templates that override the default theme's, file by file.
    theme_dir: str = ""
    #: Alerts younger than this are replayed to a browser source that reconnects.
    replay_max_age: int = Field(600, ge=0)
    #: Test alerts (the dashboard's "send test") younger than this many seconds are
    #: replayed to a page that opens or reconnects later; older ones are not, so tests
    #: made while OBS was closed never play back to back when it opens.
    test_replay_max_age: int = Field(15, ge=0)
    #: CSS variables for the default theme (colours, fonts, timings).
    theme: dict[str, str] = {}
    #: Origins besides this server that overlay pages may load pictures from: the
    #: platform's CDN for chat emotes, badges and cheermotes. Nothing else loads from them.
    image_hosts: list[str] = [
        "https://static-cdn.jtvnw.net",
        "https://d3aqoihi2n8ty8.cloudfront.net",
    ]
    #: Messages queued per browser source before it counts as frozen and is disconnected;
    #: a reconnect's replay fills at most half of it (the newest alerts).
    send_queue: int = Field(1000, ge=8, le=100_000)
    #: Most pages connected at once to one overlay (OBS sources, dashboard previews); more
    #: are refused with HTTP 429 until one closes.
    max_clients: int = Field(50, ge=1, le=100_000)
    #: Seconds one send may take before the browser source is disconnected.
    send_timeout: float = Field(5.0, gt=0)
    #: Days of alert history kept for the dashboard's replay list.
    history_days: int = Field(30, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _only_tables_are_overlays(cls, data: Any) -> Any:
        # A misspelled setting ("replay_max_ag = 5") would otherwise read as an overlay's
        # table and fail with a puzzling "should be a valid dictionary".
        if isinstance(data, Mapping):
            for key, value in data.items():
                if key not in cls.model_fields and not isinstance(value, Mapping):
                    raise ValueError(
                        f"{key}: unknown key (check the spelling against "
                        "config.example.toml; a table [overlays.<overlay>] sets the alerts "
                        "of that overlay)"
                    )
        return data

    @field_validator("image_hosts")
    @classmethod
    def _origins(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not _ORIGIN.match(host):
                raise ValueError(
                    f"{host!r} is not an origin: write scheme and host only, "
                    '"https://static-cdn.jtvnw.net"'
                )
        return [h.lower() for h in hosts]

    def alerts_of(self, overlay: str) -> AlertSettings:
        """``[overlays.<overlay>]``, or the defaults when the streamer set none."""
        return (self.model_extra or {}).get(overlay) or AlertSettings()

    def alert_tables(self) -> list[str]:
        """The overlay names that have an ``[overlays.<overlay>]`` table."""
        return sorted(self.model_extra or {})


class ChatCommandSettings(Section):
    """A text command from the config, with options (``[chat.commands.<name>]``)."""

    text: str = Field(min_length=1)
    role: Literal["viewer", "subscriber", "vip", "moderator", "broadcaster"] = "viewer"
    cooldown: float = Field(0.0, ge=0)
    aliases: list[str] = []
    #: Answers nobody until a milestone's ``unlock_command`` action opens it for a while.
    locked: bool = False


class ChatTimerSettings(Section):
    """``[[chat.timers]]``: say ``text`` every N minutes if M chat lines passed since."""

    text: str = Field(min_length=1)
    every_minutes: float = Field(gt=0)
    min_lines: int = Field(0, ge=0)
    #: Only on this platform (or connector name); empty: every connected chat.
    platform: str | None = None


class ChatSettings(Section):
    #: What starts a command.
    prefix: str = Field("!", min_length=1, max_length=3)
    #: Answer when a command fails; the details go to the log, never to chat.
    error_reply: str = "Sorry, that command did not work. The streamer has been told."
    #: Seconds a command may run before it is abandoned.
    command_timeout: float = Field(10.0, gt=0)
    #: Seconds a low-priority message may wait before it is dropped.
    low_ttl: float = Field(120.0, gt=0)
    #: Lines kept for the dashboard console and the test kit.
    history: int = Field(500, ge=10)
    #: Text commands: ``name = "text"`` or a table (text, role, cooldown, aliases).
    commands: dict[str, str | ChatCommandSettings] = {}
    timers: list[ChatTimerSettings] = []


class LoggingSettings(Section):
    level: str = "INFO"


class PluginsSettings(BaseModel):
    """``[plugins]``: ``disabled`` plus one ``[plugins.<name>]`` table per plugin."""

    model_config = ConfigDict(extra="allow")

    disabled: list[str] = []
    #: Per-call timeout for plugin hooks, in seconds.
    hook_timeout: float = Field(5.0, gt=0)
    #: A plugin whose ``on_event`` times out this many times in a row is disabled.
    max_timeouts: int = Field(3, ge=1)

    def table(self, name: str) -> dict[str, Any]:
        raw = (self.model_extra or {}).get(name, {})
        return raw if isinstance(raw, dict) else {}

    def tables(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(Section):
    server: ServerSettings = ServerSettings()
    security: SecuritySettings = SecuritySettings()
    database: DatabaseSettings = DatabaseSettings()
    media: MediaSettings = MediaSettings()
    obs: ObsSettings = ObsSettings()
    webhooks: dict[str, dict[str, Any]] = {}
    overlays: OverlaySettings = OverlaySettings()
    chat: ChatSettings = ChatSettings()
    logging: LoggingSettings = LoggingSettings()
    plugins: PluginsSettings = PluginsSettings()

    #: Where the settings came from, for messages and relative paths.
    source: str = Field("<defaults>", exclude=True)
    base_dir: Path = Field(Path("."), exclude=True)

    def secrets(self) -> list[str]:
        """Every configured secret value, so logs can redact them."""
        found: list[str] = []
        _collect_secrets(self.model_dump(mode="python"), found)
        return [s for s in found if len(s) >= 4]

    def base_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server.port}"


_SECRET_KEYS = ("token", "password", "secret", "api_key", "key")


def _collect_secrets(node: Any, out: list[str], key: str = "") -> None:
    if isinstance(node, Mapping):
        for k, v in node.items():
            _collect_secrets(v, out, str(k))
    elif isinstance(node, list):
        for v in node:
            _collect_secrets(v, out, key)
    elif isinstance(node, str) and node and any(key.endswith(s) for s in _SECRET_KEYS):
        out.append(node)


def resolve_path(
    explicit: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> Path:
    if explicit:
        return Path(explicit)
    env = (os.environ if environ is None else environ).get("LIMELIGHT_CONFIG")
    return Path(env) if env else Path(DEFAULT_CONFIG)


def _parse_env_value(raw: str) -> Any:
    """Read an override as a TOML value when it is one (``8700``, ``true``, ``["a"]``)."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Nested overrides from ``LIMELIGHT_A__B=...`` variables, and which variable set each."""
    tree: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = _provider_table(tuple(p.lower() for p in name[len(ENV_PREFIX) :].split("__")))
        if not all(parts):
            raise ConfigError(f"environment variable {name}: empty part in the key path")
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {name}: {part} is not a table")
            node = child
        node[parts[-1]] = _parse_env_value(raw)
        origin[parts] = name
    return tree, origin


def _provider_table(parts: tuple[str, ...]) -> tuple[str, ...]:
    """A webhook provider's table is named like its endpoint, with ``-`` (``vip-stripe``),
    which a variable's name cannot hold: ``LIMELIGHT_WEBHOOKS__VIP_STRIPE__SECRET`` sets
    ``[webhooks.vip-stripe] secret``, not a ``vip_stripe`` table no provider reads."""
    if len(parts) > 2 and parts[0] == "webhooks":
        return (parts[0], parts[1].replace("_", "-"), *parts[2:])
    return parts


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def format_validation_error(
    exc: ValidationError,
    source: str,
    prefix: str = "",
    origin: Mapping[tuple[str, ...], str] | None = None,
) -> str:
    """One readable line per problem: ``file: key: what is wrong``."""
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join((prefix, *loc) if prefix else loc)
        where = source
        if origin:
            full = tuple(key.split("."))
            for n in range(len(full), 0, -1):
                if full[:n] in origin:
                    where = f"environment variable {origin[full[:n]]}"
                    break
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against config.example.toml)"
        else:
            msg = err["msg"]
            # Whole tables are not echoed: they may hold a secret under another key.
            if (
                "input" in err
                and err["type"] != "missing"
                and not _is_secret(key)
                and not isinstance(err["input"], dict | list)
            ):
                msg += f", got {err['input']!r}"
        lines.append(f"{where}: {key}: {msg}")
    return "; ".join(lines)


def _is_secret(key: str) -> bool:
    # Everything under [security] and [webhooks.*] is a credential, whatever its name
    # (``webhooks.kofi = "..."`` is a secret put one level too high).
    if key.split(".", 1)[0] in ("security", "webhooks"):
        return True
    return any(key.endswith(s) for s in _SECRET_KEYS)


#: Tables that moved out of the core into a plugin's own table: old name -> new dotted
#: path. A config file or an environment variable still using the old place stops with a
#: one-line error naming the new key, rather than a bare "unknown key".
MOVED_TABLES: dict[str, str] = {"twitch": "plugins.twitch"}


def moved_table_error(raw: Mapping[str, Any], environ: Mapping[str, str], source: str) -> str:
    """The one-line error for the first moved table in use ("" when none is). Values are
    never echoed: a moved table may hold a token."""
    for old, new in MOVED_TABLES.items():
        if old in raw:
            table = raw[old]
            keys = [str(k) for k in table] if isinstance(table, Mapping) else []
            key = next((k for k in keys if _is_secret(k)), keys[0] if keys else "")
            return f"{source}: {_moved_hint(old, new, key)}"
        prefix = f"{ENV_PREFIX}{old.upper()}__"
        for name in sorted(environ):
            if name.startswith(prefix):
                key = ".".join(p.lower() for p in name[len(prefix) :].split("__"))
                return f"environment variable {name}: {_moved_hint(old, new, key)}"
    return ""


def _moved_hint(old: str, new: str, key: str) -> str:
    hint = f"[{old}] moved to [{new}]"
    if not key:
        return f"{hint}: rename the table"
    env = ENV_PREFIX + "__".join(p.upper() for p in (*new.split("."), *key.split(".")))
    return f"{hint}: write {old}.{key} as {new}.{key} (env {env})"


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    required: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read, merge and validate the configuration.

    A missing file is fine (embedded defaults) unless ``required`` or a path was given
    explicitly. ``overrides`` (from command-line flags) win over the environment.
    """
    environ = os.environ if environ is None else environ
    cfg_path = resolve_path(path, environ)
    explicit = bool(path) or "LIMELIGHT_CONFIG" in environ
    raw: dict[str, Any] = {}
    source = str(cfg_path)
    if cfg_path.exists():
        try:
            data = cfg_path.read_bytes()
            raw = tomllib.loads(data.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError(
                f"{cfg_path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                "save the file as UTF-8"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{cfg_path}: cannot read: {exc.strerror}") from None
    elif required or explicit:
        raise ConfigError(f"{cfg_path}: no such file (create one with `limelight init`)")
    else:
        source = "<defaults>"
    moved = moved_table_error(raw, environ, source)
    if not moved and overrides:
        moved = moved_table_error(overrides, {}, "settings given in code")
    if moved:
        raise ConfigError(moved)
    env_tree, origin = env_overrides(environ)
    merged = _merge(raw, env_tree)
    if overrides:
        merged = _merge(merged, overrides)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, origin=origin)) from None
    settings.source = source
    settings.base_dir = cfg_path.parent.resolve() if cfg_path.exists() else Path.cwd()
    return settings


def plugin_selection(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """``LIMELIGHT_PLUGINS``: ``None`` when unset, else the names to load (empty = none)."""
    environ = os.environ if environ is None else environ
    raw = environ.get("LIMELIGHT_PLUGINS")
    if raw is None:
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


def example_config_text() -> str:
    from . import resources

    return resources.example_config().read_text("utf-8")


def write_initial_config(directory: Path) -> Path:
    """Write ``config.toml`` with fresh random secrets; never overwrite an existing file."""
    target = directory / DEFAULT_CONFIG
    text = example_config_text()
    text = text.replace('admin_token = ""', f'admin_token = "{secrets.token_urlsafe(32)}"', 1)
    text = text.replace('overlay_token = ""', f'overlay_token = "{secrets.token_urlsafe(24)}"', 1)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise ConfigError(f"{target}: already exists; not overwriting it") from None
    os.chmod(target, 0o600)
    return target
