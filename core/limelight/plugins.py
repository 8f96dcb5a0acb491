"""The plugin host: discovery, configuration, isolation, and a typed facade over pluggy.

Core code never calls ``pm.hook.<name>(...)``. It calls the methods of :class:`PluginHost`,
which call each plugin's implementation one at a time so that:

* an exception in one plugin is logged with the plugin's name and counted, and the other
  plugins still run;
* an implementation that runs past its timeout (``[plugins] hook_timeout``, default 5 s)
  is abandoned and counted, and one that keeps timing out (``max_timeouts`` calls in a
  row) disables its plugin;
* a plain ``def`` hook runs on its plugin's own worker thread, so one that blocks (a
  synchronous HTTP call, a ``time.sleep``) holds up only that plugin, never the event
  loop: ``/healthz`` still answers and SIGTERM still stops the server;
* every call is timed, per plugin and hook, for ``/healthz`` and ``limelight plugins``.

A plugin is an object the host creates once per app (a :class:`~limelight.plugin.Plugin`
subclass; a module of hook functions works too, for tiny plugins). A plugin that fails to
import or to be created, implements a hook that does not exist (a misspelling such as
``check_pending``), has invalid config, lacks a plugin it requires, registers something
another plugin already owns or fails to start is disabled alone, with the reason recorded;
the rest keep running.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib.metadata as md
import inspect
import logging
import queue
import threading
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel, ValidationError

from . import eager, hookspecs
from .cli_ext import CliCommand, reserve_core_names
from .commands import CORE_COMMANDS, Command
from .config import NoConfig, PluginConfig, Settings, format_validation_error
from .context import PeerT, PluginContext
from .gating import ALLOW, Action, Verdict, strictest
from .plugin import Plugin
from .registry import (
    Badge,
    ChatConnectorSpec,
    ConfigModel,
    DoctorCheck,
    EventType,
    Job,
    Metric,
    Models,
    NavLink,
    Overlay,
    RegistrationError,
    Registry,
    Route,
    WebhookProvider,
)

if TYPE_CHECKING:
    from .commit import Transaction
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
    "register_metrics": "metrics",
    "register_doctor_checks": "doctor_checks",
    "register_cli_commands": "cli_commands",
}

#: What each registry accepts: anything else is a registration error naming the plugin.
REGISTRY_TYPES: dict[str, type] = {
    "command": Command,
    "route": Route,
    "overlay": Overlay,
    "models app": Models,
    "job": Job,
    "webhook provider": WebhookProvider,
    "chat connector": ChatConnectorSpec,
    "badge": Badge,
    "event type": EventType,
    "metric": Metric,
    "doctor check": DoctorCheck,
    "CLI command": CliCommand,
}


@dataclass
class HookStats:
    calls: int = 0
    errors: int = 0
    timeouts: int = 0
    #: Timeouts since the last call that finished; ``max_timeouts`` of them disable.
    timeouts_in_a_row: int = 0
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
    requires: tuple[str, ...] = ()
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
            "requires": list(self.requires),
            "stats": {k: v.to_json() for k, v in sorted(self.stats.items())},
        }


#: The per-chat-line hook :meth:`PluginHost.gate` calls, and the arguments most of its
#: implementations take.
GATE_HOOK = "check_chat_message"


@dataclass(slots=True)
class Caller:
    """One plugin's implementation of one hook, ready to call with the right arguments."""

    plugin: str
    hook: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]
    is_async: bool
    stats: HookStats


class SyncRunner:
    """A daemon thread that runs one plugin's plain ``def`` hooks, in order.

    Why a thread of its own per plugin: a hook that blocks then delays only its own
    plugin's later calls (which time out and, in a row, disable it), and a daemon thread
    never keeps the process alive at SIGTERM, as a pool's worker would.
    """

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, function: Callable[..., Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name=f"plugin:{self.plugin}", daemon=True
            )
            self._thread.start()
        self._queue.put((loop, future, function, kwargs))
        return future

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread = None

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            loop, future, function, kwargs = item
            if future.cancelled():
                continue
            try:
                result = function(**kwargs)
            except BaseException as exc:
                _resolve(loop, future, None, exc)
            else:
                _resolve(loop, future, result, None)


def _resolve(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    exc: BaseException | None,
) -> None:
    def settle() -> None:
        if future.done():  # abandoned at its timeout
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop closed while the hook ran
        pass


#: Hooks that run once at build time, before the server serves: called inline.
BUILD_HOOKS = frozenset({*REGISTRATION_HOOKS, "register_config_model"})


class PluginHost:
    """Loads plugins and is the only way the core talks to them."""

    def __init__(self, settings: Settings | None = None, *, strict_config: bool = False) -> None:
        self.app_settings = settings or Settings()
        #: ``limelight run``: a mistake in a ``[plugins.<name>]`` table will stop the
        #: server (see ``config_errors``), so disabling that plugin is not logged as well.
        self.strict_config = strict_config
        self.settings = self.app_settings.plugins
        self.timeout = self.settings.hook_timeout
        self.max_timeouts = self.settings.max_timeouts
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.configs: dict[str, BaseModel] = {}
        #: Mistakes in ``[plugins.<name>]`` tables, one line each in the config's own
        #: error format (``config.toml: plugins.x.key: what is wrong``): the plugin is
        #: disabled alone here, and ``limelight run`` refuses to start on any of them.
        self.config_errors: dict[str, str] = {}
        self.contexts: dict[str, PluginContext[Any]] = {}
        self.commands: Registry[Command] = Registry("command")
        self.routes: Registry[Route] = Registry("route")
        self.overlays: Registry[Overlay] = Registry("overlay")
        self.models: Registry[Models] = Registry("models app")
        self.jobs: Registry[Job] = Registry("job")
        self.webhook_providers: Registry[WebhookProvider] = Registry("webhook provider")
        self.chat_connectors: Registry[ChatConnectorSpec] = Registry("chat connector")
        self.badges: Registry[Badge] = Registry("badge")
        self.event_types: Registry[EventType] = Registry("event type")
        self.metrics: Registry[Metric] = Registry("metric")
        self.nav: Registry[NavLink] = Registry("dashboard page")
        self.doctor_checks: Registry[DoctorCheck] = Registry("doctor check")
        self.cli_commands: Registry[CliCommand] = Registry("CLI command")
        self._callers: dict[str, list[Caller]] = {}
        self._runners: dict[str, SyncRunner] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Names the core itself answers to: a plugin registering one is refused like any
        # other collision (the owner is "core").
        for name in CORE_COMMANDS:
            self.commands.reserve("core", name)
        reserve_core_names(self.cli_commands)

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
        """Register a plugin: a :class:`Plugin` subclass (created here, once per host), an
        instance, or a module of hook functions. Returns whether it is enabled."""
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
        if isinstance(obj, type):
            try:
                obj = obj()
            except Exception as exc:
                self._record(info, FAILED, f"could not be created: {_describe(exc)}")
                log.error("plugin %s: %s", name, info.reason, exc_info=exc)
                return False
        info.requires = tuple(getattr(obj, "requires", ()) or ())
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

    def plugin(self, name: str) -> Any:
        """The plugin object registered as ``name`` (a :class:`Plugin` or a module)."""
        return self.pm.get_plugin(name)

    def peer(self, name: str, kind: type[PeerT]) -> PeerT | None:
        """The enabled plugin ``name`` as ``kind`` (its documented API), or ``None`` when it
        is not installed, disabled, or not that kind; see :meth:`PluginContext.peer`."""
        info = self.info.get(name)
        if info is None or not info.enabled:
            return None
        found = self.plugin(name)
        return found if isinstance(found, kind) else None

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

    def disable(self, name: str, reason: str, status: str = FAILED, *, quiet: bool = False) -> None:
        """Switch one plugin off and forget what it registered; the others are untouched,
        except plugins that require it, which go off with it (saying why)."""
        info = self.info.get(name)
        if info is None or not info.enabled:
            return
        if not quiet:
            log.error("plugin %s disabled: %s", name, reason)
        ctx = self.contexts.get(name)
        if ctx is not None and ctx.running:
            # It was started: let it release what startup took (its tasks, its sockets),
            # isolated and bounded like any hook call, without waiting for it here.
            stops = [c for c in self.callers("shutdown") if c.plugin == name]
            if stops:
                self._background(self._stop(stops), f"plugin:{name}:shutdown")
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)
        for attr in (*REGISTRATION_HOOKS.values(), "nav"):
            getattr(self, attr).drop_owner(name)
        if ctx is not None and ctx.running:
            ctx.scheduler.cancel_all()
        runner = self._runners.pop(name, None)
        if runner is not None:
            runner.stop()
        info.status, info.reason = status, reason
        self._callers.clear()
        for other in self.enabled:
            if name in self.info[other].requires:
                self.disable(
                    other, f"requires plugin {name!r}, which is {status}: {reason}", quiet=quiet
                )

    def _background(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro, name=name)
        except RuntimeError:  # no loop: nothing was started, nothing to stop
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stop(self, callers: list[Caller]) -> None:
        for caller in callers:
            await self.call_one(caller, ctx=None)

    @property
    def enabled(self) -> list[str]:
        return [n for n, i in self.info.items() if i.enabled]

    # -- configuration and registration -------------------------------------------------------

    def configure(self) -> None:
        """Validate each plugin's ``[plugins.<name>]`` table against its declared model,
        give each its context, and check that what each requires is there."""
        declared: dict[str, type[BaseModel]] = {}
        for caller in self.callers("register_config_model"):
            models: list[ConfigModel] = []
            try:
                caller.function(register=models.append)
                if len(models) > 1:
                    raise RegistrationError("register_config_model registered more than one model")
            except Exception as exc:
                self.disable(caller.plugin, f"register_config_model failed: {_describe(exc)}")
                continue
            if models:
                declared[caller.plugin] = models[0].model
        for name in self.enabled:
            obj = self.pm.get_plugin(name)
            model = getattr(obj, "config_model", None) or declared.get(name)
            table = self.settings.table(name)
            source = self.app_settings.source
            if model is None:
                if table:
                    keys = ", ".join(sorted(table))
                    self.config_errors[name] = (
                        f"{source}: plugins.{name}: the plugin {name!r} has no settings "
                        f"(remove {keys})"
                    )
                    self.disable(
                        name,
                        f"invalid config: plugins.{name} has keys "
                        f"({keys}) but the plugin declares no config",
                        quiet=self.strict_config,
                    )
                    continue
                model = NoConfig
            try:
                config = model.model_validate(table)
            except ValidationError as exc:
                message = format_validation_error(exc, f"plugin {name!r}", prefix=f"plugins.{name}")
                self.config_errors[name] = format_validation_error(
                    exc, source, prefix=f"plugins.{name}"
                )
                self.disable(name, f"invalid config: {message}", quiet=self.strict_config)
                continue
            self.configs[name] = config
            ctx: PluginContext[Any] = PluginContext(name, config, self.app_settings)
            self.contexts[name] = ctx
            if isinstance(obj, Plugin):
                obj.ctx = ctx
        for table_name in self.settings.tables():
            if table_name not in self.info:
                log.warning(
                    "config has [plugins.%s], but no plugin of that name is installed", table_name
                )
        self._check_requirements()

    def _check_requirements(self) -> None:
        for name in self.enabled:
            info = self.info[name]
            for needed in info.requires:
                other = self.info.get(needed)
                if other is None:
                    self.disable(name, f"requires plugin {needed!r}, which is not installed")
                elif not other.enabled:
                    self.disable(
                        name,
                        f"requires plugin {needed!r}, which is {other.status}: {other.reason}",
                    )
                if not self.info[name].enabled:
                    break

    def collect_registrations(self) -> None:
        """Run every registration hook, plugin by plugin, filling the registries.

        Whatever a plugin registers that another already owns (a command name or alias, a
        route, an overlay, a badge, an event type, a job id, ...) disables the later plugin,
        with a reason naming both; so does a registration hook that raises."""
        for hook, attr in REGISTRATION_HOOKS.items():
            registry: Registry[Any] = getattr(self, attr)
            for caller in self.callers(hook):
                if caller.plugin not in self.enabled:
                    continue
                try:
                    caller.function(
                        register=lambda item, _p=caller.plugin, _r=registry: self._register(
                            _r, _p, item
                        )
                    )
                except RegistrationError as exc:
                    self.disable(caller.plugin, f"{hook}: {exc}")
                except Exception as exc:
                    self.disable(caller.plugin, f"{hook} failed: {_describe(exc)}")

    def _register(self, registry: Registry[Any], plugin: str, item: Any) -> None:
        expected = REGISTRY_TYPES.get(registry.kind)
        if expected is not None and not isinstance(item, expected):
            raise RegistrationError(
                f"registered {item!r}, which is not a {expected.__name__}"
                + (" (decorate the handler with @command)" if expected is Command else "")
            )
        if isinstance(item, Command):
            keys = [item.name, *item.aliases]
            for key in keys:
                owner = registry.owner_of(key)
                if owner is not None:
                    what = (
                        f"command !{key}" if key == item.name else f"alias !{key} of !{item.name}"
                    )
                    theirs = (
                        f"!{key} of 'core' (a built-in command)"
                        if owner == "core"
                        else f"!{key} of plugin {owner!r}"
                    )
                    raise RegistrationError(f"{what} of plugin {plugin!r} collides with {theirs}")
            for key in keys:
                registry.add(plugin, item, key=key)
            return
        if isinstance(item, Job | DoctorCheck):
            # Namespaced per plugin (the scheduler runs jobs as "<plugin>:<id>"): two
            # plugins may both have a "prune" job; one plugin may not have two.
            registry.add(plugin, item, key=f"{plugin}:{item.key}")
            return
        if isinstance(item, Route) and item.nav:
            if item.method.upper() != "GET":
                raise RegistrationError(f"route {item.key}: only GET pages can have a nav label")
            registry.add(plugin, item)
            role = "moderator" if item.auth == "moderator" else "admin"
            self.nav.add(plugin, NavLink(item.path, item.nav, role), key=item.path)
            return
        registry.add(plugin, item)

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

    def _invoke(self, caller: Caller, kwargs: dict[str, Any]) -> Any:
        """Start one call: a coroutine for ``async def``, a thread future for a plain
        ``def`` at run time (never blocking the loop), a value for build-time hooks."""
        if caller.is_async or caller.hook in BUILD_HOOKS:
            return caller.function(**kwargs)
        return self._runner(caller.plugin).run(caller.function, kwargs)

    def _runner(self, plugin: str) -> SyncRunner:
        """``plugin``'s worker thread for plain ``def`` hooks, made on first use."""
        runner = self._runners.get(plugin)
        if runner is None:
            runner = self._runners[plugin] = SyncRunner(plugin)
        return runner

    async def call_one(self, caller: Caller, **kwargs: Any) -> tuple[bool, Any]:
        """Call one implementation, isolated: ``(True, result)``, or ``(False, the
        exception)`` (a ``TimeoutError`` for a timeout); never raises."""
        ok, result = self._call_now(caller, kwargs)
        if ok is None:
            return await self._call_rest(caller, *result)
        return ok, result

    def _call_now(self, caller: Caller, kwargs: dict[str, Any]) -> tuple[bool | None, Any]:
        """Start one isolated call and run it as far as it goes without waiting:
        ``(True, result)`` or ``(False, the exception)`` when it finished (an ``async def``
        that never waits does, see :mod:`.eager`), else ``(None, (what to await, start
        time))`` for :meth:`_call_rest`, which awaits it under the timeout."""
        names = caller.argnames
        stats = caller.stats
        stats.calls += 1
        started = time.perf_counter()
        try:
            if caller.is_async:  # stepped here, as eager.step does, one call less per hook
                if "ctx" in names:
                    coro = caller.function(**self._arguments(caller, kwargs))
                else:
                    # The common case (a gating check per chat line): the arguments in
                    # the order pluggy read them off the signature, taken in C; no dict.
                    coro = caller.function(*map(kwargs.__getitem__, names))
                try:
                    yielded = coro.send(None)
                except StopIteration as done:
                    result = done.value
                else:
                    return None, (eager.Suspended(coro, yielded), started)
            else:
                result = self._invoke(caller, self._arguments(caller, kwargs))
                if inspect.isawaitable(result):  # a plain def's worker-thread future
                    return None, (result, started)
            stats.timeouts_in_a_row = 0
            ok = True
        except Exception as exc:
            stats.timeouts_in_a_row = 0
            self._raised(caller, exc)
            ok, result = False, exc
        stats.seconds += time.perf_counter() - started
        return ok, result

    def _arguments(self, caller: Caller, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments ``caller`` takes out of ``kwargs``, its own plugin's
        context as ``ctx``."""
        args = {n: kwargs[n] for n in caller.argnames}
        if "ctx" in args:
            args["ctx"] = self.contexts.get(caller.plugin, args["ctx"])
        return args

    async def _call_rest(
        self, caller: Caller, pending: Awaitable[Any], started: float
    ) -> tuple[bool, Any]:
        """Await a call :meth:`_call_now` started, within the hook timeout."""
        stats = caller.stats
        try:
            async with asyncio.timeout(self.timeout):
                result = await pending
            stats.timeouts_in_a_row = 0
            return True, result
        except TimeoutError as exc:
            self._timed_out(caller)
            return False, exc
        except Exception as exc:
            stats.timeouts_in_a_row = 0
            self._raised(caller, exc)
            return False, exc
        finally:
            stats.seconds += time.perf_counter() - started

    def _timed_out(self, caller: Caller) -> None:
        """Count and log a hook call abandoned at its timeout (one place for both paths);
        ``max_timeouts`` in a row disable the plugin."""
        stats = caller.stats
        stats.timeouts += 1
        stats.timeouts_in_a_row += 1
        stats.last_error = f"timed out after {self.timeout:g} s"
        log.error("plugin %s: %s timed out after %g s", caller.plugin, caller.hook, self.timeout)
        if stats.timeouts_in_a_row >= self.max_timeouts:
            self.disable(
                caller.plugin,
                f"{caller.hook} timed out {stats.timeouts_in_a_row} times in a row "
                f"(each after {self.timeout:g} s)",
            )

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

    # -- the facade: one method per hook the core calls at run time --------------------------

    async def startup(self) -> None:
        """Start every plugin; a plugin whose startup fails is disabled alone."""
        for caller in list(self.callers("startup")):
            if not self.info[caller.plugin].enabled:  # went off with a plugin it requires
                continue
            ok, _ = await self.call_one(caller, ctx=None)
            if not ok and self.info[caller.plugin].enabled:
                self.disable(caller.plugin, f"startup failed: {caller.stats.last_error}")

    async def shutdown(self) -> None:
        for caller in list(self.callers("shutdown")):
            await self.call_one(caller, ctx=None)
        if self._tasks:  # plugins disabled at run time, still releasing what they took
            await asyncio.wait(self._tasks, timeout=self.timeout)
        for runner in self._runners.values():
            runner.stop()
        self._runners.clear()

    def event_callers(self) -> list[Caller]:
        return self.callers("on_event")

    def event_handler(self, caller: Caller) -> Callable[[Event], bool | Awaitable[bool]]:
        """A lean, isolated ``on_event`` call for one plugin, for the bus's hot path.

        Same guarantees as :meth:`call_one` (errors and timeouts logged and counted, timing
        recorded, a disabled plugin skipped) without rebuilding arguments on every event.
        An event whose durable part this plugin has not written (``record_events`` failed
        and failed again) is not handed to it: it stays unhandled for the next start.

        The handler is a plain function: an ``on_event`` that answers without waiting (most
        of them, most of the time) is stepped to its end at once (:mod:`.eager`) and the
        answer is a ``bool``, with no ``asyncio.timeout()`` and no coroutine of ours; only
        one that waits hands the lane an awaitable, which finishes it under the hook
        timeout from where it stopped.
        """
        stats, plugin = caller.stats, caller.plugin
        info = self.info[plugin]
        wants_ctx = "ctx" in caller.argnames
        wants_event = "event" in caller.argnames
        perf_counter, isawaitable = time.perf_counter, inspect.isawaitable
        invoke = self._invoke
        coroutine = types.CoroutineType

        def handle(event: Event) -> bool | Awaitable[bool]:
            """True when the plugin handled the event (or is off); False when it failed;
            an awaitable of either when the call waits."""
            if not info.enabled:
                return True
            if event.unrecorded and plugin in event.unrecorded:
                return False
            kwargs: dict[str, Any] = {}
            if wants_event:
                kwargs["event"] = event
            if wants_ctx:
                kwargs["ctx"] = self.contexts.get(plugin)
            stats.calls += 1
            started = perf_counter()
            try:
                result = invoke(caller, kwargs)
                if result.__class__ is coroutine:
                    done, result = eager.step(result)
                    if not done:
                        return finish(result, started)  # (it counts the time)
                elif result is not None and isawaitable(result):
                    return finish(result, started)
                stats.timeouts_in_a_row = 0
                ok = True
            except Exception as exc:
                stats.timeouts_in_a_row = 0
                self._raised(caller, exc)
                ok = False
            stats.seconds += perf_counter() - started
            return ok

        async def finish(pending: Awaitable[Any], started: float) -> bool:
            """The rest of a call that waits, under the hook timeout."""
            try:
                async with asyncio.timeout(self.timeout):
                    await pending
                stats.timeouts_in_a_row = 0
            except TimeoutError:
                self._timed_out(caller)
                return False
            except Exception as exc:
                stats.timeouts_in_a_row = 0
                self._raised(caller, exc)
                return False
            finally:
                stats.seconds += perf_counter() - started
            return True

        return handle

    def thread_handler(self, caller: Caller) -> Callable[[list[Event]], Awaitable[list[bool]]]:
        """``on_event`` of a plain ``def`` implementation for the bus: the events queued in
        the plugin's lane go to its worker thread in one hop and are handled there one by
        one, each isolated. The thread hands back what it finished after half the timeout,
        so a long batch of slow calls never times out as a whole; a single call that blocks
        past the timeout counts as a timeout, and the events of its batch as failed (money
        events stay unhandled and come again at the next start)."""
        stats, plugin, function = caller.stats, caller.plugin, caller.function
        info = self.info[plugin]
        wants_ctx = "ctx" in caller.argnames
        wants_event = "event" in caller.argnames
        ctx = self.contexts.get(plugin)

        budget = self.timeout / 2

        def run_all(events: list[Event], abandoned: threading.Event) -> list[BaseException | None]:
            errors: list[BaseException | None] = []
            deadline = time.monotonic() + budget
            for event in events:
                if abandoned.is_set() or (errors and time.monotonic() > deadline):
                    break
                kwargs: dict[str, Any] = {}
                if wants_event:
                    kwargs["event"] = event
                if wants_ctx:
                    kwargs["ctx"] = ctx
                try:
                    function(**kwargs)
                    errors.append(None)
                except Exception as exc:
                    errors.append(exc)
            return errors

        async def handle_many(events: list[Event]) -> list[bool]:
            if not info.enabled:
                return [True] * len(events)
            oks = [not (e.unrecorded and plugin in e.unrecorded) for e in events]
            todo = [e for e, ok in zip(events, oks, strict=True) if ok]
            if not todo:
                return oks
            runner = self._runner(plugin)
            abandoned = threading.Event()
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    errors = await runner.run(run_all, {"events": todo, "abandoned": abandoned})
                stats.timeouts_in_a_row = 0
            except TimeoutError:
                abandoned.set()
                stats.calls += 1
                self._timed_out(caller)
                return [False] * len(events)
            finally:
                stats.seconds += time.perf_counter() - started
            stats.calls += len(errors)
            results = iter(errors)
            out: list[bool] = []
            for ok in oks:
                if not ok:
                    out.append(False)
                    continue
                error = next(results, StopIteration)
                if error is StopIteration:  # not reached in time: back into the lane
                    break
                if isinstance(error, Exception):
                    self._raised(caller, error)
                out.append(error is None)
            return out

        return handle_many

    def recorders(self) -> list[str]:
        """The enabled plugins that write durable rows for events (``record_events``)."""
        return [caller.plugin for caller in self.callers("record_events")]

    async def record_events(
        self, events: list[Event], tx: Transaction, only: Iterable[str] | None = None
    ) -> dict[str, BaseException]:
        """Each plugin writes its rows for ``events`` in a savepoint of ``tx`` of its own:
        a plugin that fails (or times out) loses only its own writes, never the events.

        Returns the plugins that failed, each with what it raised (a ``TimeoutError`` for
        a timeout): the bus tells a passing database hiccup from input that fails every
        time by it (:func:`limelight.failures.is_transient`). What a plugin's call returns
        (``{event id: value}``) reaches its ``on_event`` through ``ctx.recorded(event)``
        once ``tx`` commits. ``only`` limits the call to some plugins (the core writing
        again what failed)."""
        failed: dict[str, BaseException] = {}
        wanted = None if only is None else set(only)
        for caller in self.callers("record_events"):
            if wanted is not None and caller.plugin not in wanted:
                continue
            if not self.info[caller.plugin].enabled:
                continue
            try:
                async with tx.savepoint():
                    ok, result = await self.call_one(caller, events=events, tx=tx, ctx=None)
                    if not ok:
                        raise _RolledBack(result)
            except _RolledBack as rolled_back:
                failed[caller.plugin] = rolled_back.args[0]
                continue
            if isinstance(result, Mapping) and result:
                tx.on_commit(_keeper(caller.plugin, events, result))
        return failed

    async def check_chat_message(self, message: ChatMessage) -> Verdict:
        """The strictest verdict of all gating plugins; a failing plugin counts as hide."""
        verdict = self.gate(message)
        if not isinstance(verdict, Verdict):
            verdict = await verdict
        return verdict

    def gate(self, message: ChatMessage) -> Verdict | Coroutine[Any, Any, Verdict]:
        """:meth:`check_chat_message` for the bus, once per chat line: the verdict at once
        when every gating check answered without waiting (the usual kind: no coroutine
        of ours, no timer), else a coroutine to await for it, which awaits the checks
        that wait under the hook timeout. Either way it fails closed: a check that
        raises, times out or answers nonsense hides the line."""
        callers = self.callers(GATE_HOOK)
        verdicts: list[Verdict] = []
        for i, caller in enumerate(callers):
            ok, result = self._call_now(caller, {"message": message, "ctx": None})
            if ok is None:
                return self._gate_rest(message, callers[i:], result, verdicts)
            if not ok or result is not None:  # None, the common answer: nothing to say
                verdicts.append(_verdict(caller, ok, result))
        return strictest(verdicts) if verdicts else ALLOW

    async def _gate_rest(
        self,
        message: ChatMessage,
        callers: list[Caller],
        pending: tuple[Awaitable[Any], float],
        verdicts: list[Verdict],
    ) -> Verdict:
        """The rest of :meth:`gate` from the first check that waits (``callers[0]``,
        started: ``pending``)."""
        for i, caller in enumerate(callers):
            if i == 0:
                ok, result = await self._call_rest(caller, *pending)
            else:
                ok, result = await self.call_one(caller, message=message, ctx=None)
            if not ok or result is not None:
                verdicts.append(_verdict(caller, ok, result))
        return strictest(verdicts)

    async def doctor(self) -> list[tuple[str, str, list[str]]]:
        """Every plugin's ``doctor_checks`` that applies: ``(plugin, check title,
        problems)``; a check whose ``off()`` gives a reason is left to :meth:`doctor_off`."""
        out: list[tuple[str, str, list[str]]] = []
        for owner, check in self.doctor_checks.items():
            if _off_reason(check):
                continue
            try:
                problems = check.run()
                if inspect.isawaitable(problems):
                    async with asyncio.timeout(check.timeout):
                        problems = await problems
            except TimeoutError:
                problems = [f"did not finish within {check.timeout:g} s"]
            except Exception as exc:
                problems = [f"the check failed: {_describe(exc)}"]
            out.append((owner, check.title, list(problems)))
        return out

    def doctor_off(self) -> list[tuple[str, str, str]]:
        """``(plugin, check title, why)`` for each doctor check whose feature is not set up
        (its ``off()`` gave a reason): printed as ``off``, not run, not a problem."""
        return [
            (owner, check.title, reason)
            for owner, check in self.doctor_checks.items()
            if (reason := _off_reason(check))
        ]

    def list_json(self) -> list[dict[str, Any]]:
        return [self.info[n].to_json() for n in sorted(self.info)]


def _off_reason(check: DoctorCheck) -> str:
    """Why ``check`` does not apply, or "" (also when its ``off()`` raises: then the check
    itself runs and reports what is wrong)."""
    if check.off is None:
        return ""
    try:
        return str(check.off() or "")
    except Exception:
        return ""


def _keeper(plugin: str, events: list[Event], result: Mapping[int, Any]) -> Callable[[], None]:
    def keep() -> None:
        for event in events:
            if event.id is not None and event.id in result:
                event.note_recorded(plugin, result[event.id])

    return keep


def _verdict(caller: Caller, ok: bool, result: Any) -> Verdict:
    """One gating check's answer as a verdict naming its plugin; a failed check (an error,
    a timeout) or an answer that is not a verdict hides the line: gating fails closed."""
    if not ok:
        return Verdict(Action.HIDE, "gating check failed", caller.plugin)
    if isinstance(result, Verdict):
        return Verdict(result.action, result.reason, caller.plugin)
    return Verdict(Action.HIDE, f"invalid verdict {result!r}", caller.plugin)


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
