"""The plugin host: discovery, configuration, isolation, and a typed facade over pluggy.

Core code never calls ``pm.hook.<name>(...)``. It calls the methods of :class:`PluginHost`,
which call each plugin's implementation one at a time so that:

* an exception in one plugin is logged with the plugin's name and counted, and the other
  plugins still run;
* an ``async`` implementation that runs past its timeout (``[plugins] hook_timeout``,
  default 5 s) is abandoned and counted;
* every call is timed, per plugin and hook, for ``/healthz`` and ``limelight plugins``.

A plugin that fails to import, implements a hook that does not exist (a misspelling such as
``check_pending``), has invalid config, registers something twice or fails to start is
disabled alone, with the reason recorded; the rest keep running.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib.metadata as md
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel, ValidationError

from . import hookspecs
from .config import PluginConfig, PluginsSettings, format_validation_error
from .gating import ALLOW, Action, Verdict, strictest
from .registry import (
    Badge,
    ChatConnectorSpec,
    ConfigModel,
    EventType,
    Job,
    Models,
    Overlay,
    RegistrationError,
    Registry,
    Route,
    WebhookProvider,
)

if TYPE_CHECKING:
    from .commit import Transaction
    from .context import PluginContext
    from .events import ChatMessage, Event

log = logging.getLogger("limelight.plugins")


class _RolledBack(Exception):
    """Raised inside a savepoint to roll back a plugin's failed ``record_events`` call."""


ENTRY_POINT_GROUP = "limelight"
BUILTIN_DISTRIBUTION = "limelight"

ENABLED = "enabled"
DISABLED = "disabled"  # switched off by configuration
FAILED = "failed"  # switched off because something went wrong

REGISTRATION_HOOKS: dict[str, str] = {
    "register_commands": "commands",
    "register_routes": "routes",
    "register_overlays": "overlays",
    "register_models": "models",
    "register_jobs": "jobs",
    "register_webhook_providers": "webhook_providers",
    "register_chat_connectors": "chat_connectors",
    "register_badges": "badges",
    "register_event_types": "event_types",
}


@dataclass
class HookStats:
    calls: int = 0
    errors: int = 0
    timeouts: int = 0
    seconds: float = 0.0
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "mean_ms": round(1000 * self.seconds / self.calls, 3) if self.calls else 0.0,
            "last_error": self.last_error,
        }


@dataclass
class PluginInfo:
    name: str
    version: str = ""
    origin: str = "built-in"
    status: str = ENABLED
    reason: str = ""
    hooks: list[str] = field(default_factory=list)
    module: str = ""
    stats: dict[str, HookStats] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "origin": self.origin,
            "status": self.status,
            "reason": self.reason,
            "hooks": sorted(self.hooks),
            "stats": {k: v.to_json() for k, v in sorted(self.stats.items())},
        }


@dataclass(slots=True)
class Caller:
    """One plugin's implementation of one hook, ready to call with the right arguments."""

    plugin: str
    hook: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]
    is_async: bool
    stats: HookStats


class PluginHost:
    """Loads plugins and is the only way the core talks to them."""

    def __init__(self, settings: PluginsSettings | None = None) -> None:
        self.settings = settings or PluginsSettings()
        self.timeout = self.settings.hook_timeout
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.configs: dict[str, BaseModel | None] = {}
        self.contexts: dict[str, PluginContext] = {}
        self.commands: Registry[Any] = Registry("command")
        self.routes: Registry[Route] = Registry("route")
        self.overlays: Registry[Overlay] = Registry("overlay")
        self.models: Registry[Models] = Registry("models app")
        self.jobs: Registry[Job] = Registry("job")
        self.webhook_providers: Registry[WebhookProvider] = Registry("webhook provider")
        self.chat_connectors: Registry[ChatConnectorSpec] = Registry("chat connector")
        self.badges: Registry[Badge] = Registry("badge")
        self.event_types: Registry[EventType] = Registry("event type")
        self._callers: dict[str, list[Caller]] = {}

    # -- loading ------------------------------------------------------------------------------

    def load_entry_points(
        self, selection: list[str] | None = None, disabled: Iterable[str] = ()
    ) -> None:
        """Load every ``limelight`` entry point, one at a time, honouring the selection.

        ``selection`` (from ``LIMELIGHT_PLUGINS``) lists the only plugins to load, when set;
        ``disabled`` (``[plugins] disabled``) lists plugins to skip.
        """
        disabled = set(disabled)
        seen: set[str] = set()
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(ep.name)
            dist = ep.dist
            origin = (
                "built-in"
                if dist is None or dist.name == BUILTIN_DISTRIBUTION
                else f"{dist.name} {dist.version}"
            )
            version = dist.version if dist is not None else ""
            info = PluginInfo(name=ep.name, version=version, origin=origin, module=ep.value)
            if selection is not None and ep.name not in selection:
                self._record(info, DISABLED, "not in LIMELIGHT_PLUGINS")
                continue
            if ep.name in disabled:
                self._record(info, DISABLED, "listed in [plugins] disabled")
                continue
            try:
                obj = ep.load()
            except Exception as exc:
                self._record(info, FAILED, f"failed to import {ep.value}: {_describe(exc)}")
                log.error("plugin %s: failed to import %s: %s", ep.name, ep.value, _describe(exc))
                continue
            self.add(obj, ep.name, info=info)
        if selection:
            for missing in sorted(set(selection) - seen - set(self.info)):
                log.warning("LIMELIGHT_PLUGINS names %r, but no such plugin is installed", missing)

    def add(self, obj: Any, name: str, *, info: PluginInfo | None = None) -> bool:
        """Register a plugin object (module, class instance); returns whether it is enabled."""
        info = info or PluginInfo(name=name, origin="registered in code", module=repr(obj))
        if name in self.info and self.info[name].enabled:
            # Keep the loaded plugin's record: overwriting it would switch off a plugin that
            # is running fine. The newcomer is refused with a log line.
            log.error(
                "plugin %s (%s): refused, a plugin named %r is already loaded from %s",
                name,
                info.origin,
                name,
                self.info[name].origin,
            )
            return False
        try:
            self.pm.register(obj, name=name)
        except pluggy.PluginValidationError as exc:
            self._record(info, FAILED, f"invalid hook implementation: {_describe(exc)}")
            log.error("plugin %s: %s", name, info.reason)
            return False
        except ValueError as exc:
            self._record(info, FAILED, str(exc))
            return False
        unknown = [hc.name for hc in self.pm.get_hookcallers(obj) or [] if hc.spec is None]
        if unknown:
            self.pm.unregister(obj)
            hints = []
            for hook in unknown:
                close = difflib.get_close_matches(hook, self._spec_names(), n=1)
                hints.append(f"{hook!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            self._record(info, FAILED, "implements unknown hook " + ", ".join(hints))
            log.error("plugin %s: %s", name, info.reason)
            return False
        info.hooks = sorted(hc.name for hc in self.pm.get_hookcallers(obj) or [])
        self._record(info, ENABLED, "")
        self._callers.clear()
        return True

    def _spec_names(self) -> list[str]:
        # Only real hooks: pluggy also keeps a spec-less caller for every unknown name a
        # plugin implemented, which must never be suggested back as "did you mean".
        return [
            n
            for n, hc in vars(self.pm.hook).items()
            if not n.startswith("_") and getattr(hc, "spec", None) is not None
        ]

    def _record(self, info: PluginInfo, status: str, reason: str) -> None:
        info.status, info.reason = status, reason
        self.info[info.name] = info

    def disable(self, name: str, reason: str, status: str = FAILED) -> None:
        """Switch one plugin off and forget what it registered; the others are untouched."""
        info = self.info.get(name)
        if info is None:
            return
        log.error("plugin %s disabled: %s", name, reason)
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)
        for attr in REGISTRATION_HOOKS.values():
            getattr(self, attr).drop_owner(name)
        self.contexts.pop(name, None)
        info.status, info.reason = status, reason
        self._callers.clear()

    @property
    def enabled(self) -> list[str]:
        return [n for n, i in self.info.items() if i.enabled]

    # -- configuration and registration -------------------------------------------------------

    def configure(self) -> None:
        """Validate each plugin's ``[plugins.<name>]`` table against its declared model."""
        for caller in self.callers("register_config_model"):
            models: list[ConfigModel] = []
            try:
                caller.function(register=models.append)
                if len(models) > 1:
                    raise RegistrationError("register_config_model registered more than one model")
            except Exception as exc:
                self.disable(caller.plugin, f"register_config_model failed: {_describe(exc)}")
                continue
            if not models:
                continue
            model = models[0].model
            try:
                self.configs[caller.plugin] = model.model_validate(
                    self.settings.table(caller.plugin)
                )
            except ValidationError as exc:
                message = format_validation_error(
                    exc, f"plugin {caller.plugin!r}", prefix=f"plugins.{caller.plugin}"
                )
                self.disable(caller.plugin, f"invalid config: {message}")
        for name in self.enabled:
            if name not in self.configs:
                table = self.settings.table(name)
                if table:
                    self.disable(
                        name,
                        f"invalid config: plugins.{name} has keys "
                        f"({', '.join(sorted(table))}) but the plugin declares no config",
                    )
                else:
                    self.configs[name] = None
        for table in self.settings.tables():
            if table not in self.info:
                log.warning(
                    "config has [plugins.%s], but no plugin of that name is installed", table
                )

    def collect_registrations(self) -> None:
        """Run every registration hook, plugin by plugin, filling the registries."""
        for hook, attr in REGISTRATION_HOOKS.items():
            registry: Registry[Any] = getattr(self, attr)
            for caller in self.callers(hook):
                if caller.plugin not in self.enabled:
                    continue
                try:
                    caller.function(
                        register=lambda item, _p=caller.plugin, _r=registry: _r.add(_p, item)
                    )
                except Exception as exc:
                    self.disable(caller.plugin, f"{hook} failed: {_describe(exc)}")

    # -- calling hooks ------------------------------------------------------------------------

    def callers(self, hook: str) -> list[Caller]:
        """The enabled plugins' implementations of ``hook``, in registration order."""
        cached = self._callers.get(hook)
        if cached is not None:
            return cached
        result: list[Caller] = []
        # pluggy keeps implementations in registration order (grouped by trylast/tryfirst)
        # and calls them last-registered first; the host wants the first-registered plugin
        # first (it owns a contested name), with tryfirst/trylast still respected.
        impls = sorted(
            getattr(self.pm.hook, hook).get_hookimpls(),
            key=lambda i: 0 if i.tryfirst else 2 if i.trylast else 1,
        )
        for impl in impls:
            info = self.info.get(impl.plugin_name)
            if info is None or not info.enabled:
                continue
            stats = info.stats.setdefault(hook, HookStats())
            result.append(
                Caller(
                    plugin=impl.plugin_name,
                    hook=hook,
                    function=impl.function,
                    argnames=tuple(impl.argnames),
                    is_async=inspect.iscoroutinefunction(impl.function),
                    stats=stats,
                )
            )
        self._callers[hook] = result
        return result

    async def call_one(self, caller: Caller, **kwargs: Any) -> tuple[bool, Any]:
        """Call one implementation, isolated: ``(ok, result)``; never raises."""
        args = {n: kwargs[n] for n in caller.argnames}
        if "ctx" in args:
            args["ctx"] = self.contexts.get(caller.plugin, args["ctx"])
        stats = caller.stats
        stats.calls += 1
        started = time.perf_counter()
        try:
            result = caller.function(**args)
            if inspect.isawaitable(result):
                async with asyncio.timeout(self.timeout):
                    result = await result
            return True, result
        except TimeoutError:
            self._timed_out(caller)
            return False, None
        except Exception as exc:
            self._raised(caller, exc)
            return False, None
        finally:
            stats.seconds += time.perf_counter() - started

    def _timed_out(self, caller: Caller) -> None:
        """Count and log a hook call abandoned at its timeout (one place for both paths)."""
        caller.stats.timeouts += 1
        caller.stats.last_error = f"timed out after {self.timeout:g} s"
        log.error("plugin %s: %s timed out after %g s", caller.plugin, caller.hook, self.timeout)

    def _raised(self, caller: Caller, exc: Exception) -> None:
        """Count and log a hook call that raised; the traceback goes to the log only."""
        caller.stats.errors += 1
        caller.stats.last_error = _describe(exc)
        log.error(
            "plugin %s: %s raised %s",
            caller.plugin,
            caller.hook,
            caller.stats.last_error,
            exc_info=exc,
        )

    async def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, bool, Any]]:
        out = []
        for caller in self.callers(hook):
            ok, result = await self.call_one(caller, ctx=None, **kwargs)
            out.append((caller.plugin, ok, result))
        return out

    # -- the facade: one method per hook the core calls at run time --------------------------

    async def startup(self) -> None:
        """Start every plugin; a plugin whose startup fails is disabled alone."""
        for caller in list(self.callers("startup")):
            ok, _ = await self.call_one(caller, ctx=None)
            if not ok:
                self.disable(caller.plugin, f"startup failed: {caller.stats.last_error}")

    async def shutdown(self) -> None:
        for caller in list(self.callers("shutdown")):
            await self.call_one(caller, ctx=None)

    def event_callers(self) -> list[Caller]:
        return self.callers("on_event")

    def event_handler(self, caller: Caller) -> Callable[[Event], Awaitable[bool]]:
        """A lean, isolated ``on_event`` call for one plugin, for the bus's hot path.

        Same guarantees as :meth:`call_one` (errors and timeouts logged and counted, timing
        recorded, a disabled plugin skipped) without rebuilding arguments on every event.
        """
        function, stats, plugin = caller.function, caller.stats, caller.plugin
        info = self.info[plugin]
        wants_ctx = "ctx" in caller.argnames
        wants_event = "event" in caller.argnames
        perf_counter, isawaitable = time.perf_counter, inspect.isawaitable

        async def handle(event: Event) -> bool:
            """True when the plugin handled the event (or is off); False when it failed."""
            if not info.enabled:
                return True
            kwargs: dict[str, Any] = {}
            if wants_event:
                kwargs["event"] = event
            if wants_ctx:
                kwargs["ctx"] = self.contexts.get(plugin)
            stats.calls += 1
            started = perf_counter()
            try:
                result = function(**kwargs)
                if result is not None and isawaitable(result):
                    async with asyncio.timeout(self.timeout):
                        await result
            except TimeoutError:
                self._timed_out(caller)
                return False
            except Exception as exc:
                self._raised(caller, exc)
                return False
            finally:
                stats.seconds += perf_counter() - started
            return True

        return handle

    async def record_events(self, events: list[Event], tx: Transaction) -> None:
        """Each plugin writes its rows for ``events`` in a savepoint of ``tx`` of its own:
        a plugin that fails (or times out) loses only its own writes, never the events."""
        for caller in self.callers("record_events"):
            if not self.info[caller.plugin].enabled:
                continue
            try:
                async with tx.savepoint():
                    ok, _ = await self.call_one(caller, events=events, tx=tx, ctx=None)
                    if not ok:
                        raise _RolledBack
            except _RolledBack:
                log.warning(
                    "plugin %s: its writes for %d event(s) were rolled back; its "
                    "on_event gets them and must write what is missing",
                    caller.plugin,
                    len(events),
                )

    async def on_event(self, event: Event) -> None:
        for caller in self.callers("on_event"):
            await self.call_one(caller, event=event, ctx=None)

    async def check_chat_message(self, message: ChatMessage) -> Verdict:
        """The strictest verdict of all gating plugins; a failing plugin counts as hide."""
        callers = self.callers("check_chat_message")
        if not callers:
            return ALLOW
        verdicts: list[Verdict] = []
        for caller in callers:
            ok, result = await self.call_one(caller, message=message, ctx=None)
            if not ok:
                verdicts.append(Verdict(Action.HIDE, "gating check failed", caller.plugin))
            elif isinstance(result, Verdict):
                verdicts.append(Verdict(result.action, result.reason, caller.plugin))
            elif result is not None:
                verdicts.append(Verdict(Action.HIDE, f"invalid verdict {result!r}", caller.plugin))
        return strictest(verdicts)

    def list_json(self) -> list[dict[str, Any]]:
        return [self.info[n].to_json() for n in sorted(self.info)]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__


__all__ = [
    "ENABLED",
    "FAILED",
    "Caller",
    "PluginConfig",
    "PluginHost",
    "PluginInfo",
]
