"""Every hook a Limelight plugin can implement.

A plugin is a class (a :class:`limelight.Plugin` subclass; a module works too for tiny
plugins) whose methods marked ``@limelight.hookimpl`` are named after the hooks below. A
method may take any subset of a hook's arguments: a plugin object has its context as
``self.ctx``, so it rarely needs ``ctx``. Hooks come in three kinds:

* **Registration hooks** (``register_*``) are synchronous and run once at startup. They
  receive a ``register`` callback owned by the host; call it once per thing you provide.
  The host records that your plugin owns it and rejects duplicates.
* **Lifecycle hooks** (``startup``, ``shutdown``) may be ``async def``.
* **Event hooks** (``on_event``, ``check_chat_message``, ``record_events``) may be ``async
  def``; the host awaits them, isolates each plugin's call (an exception or a timeout in
  one plugin is logged and counted, never seen by the others) and records timings. A plain
  ``def`` event or lifecycle hook runs on the plugin's own worker thread, so one that
  blocks can never freeze the server; it must not touch the event loop's objects (use
  ``async def`` for anything that awaits or talks to ``ctx`` services).

Every hook that receives ``ctx`` gets the calling plugin's own :class:`limelight.context.
PluginContext`: its typed config, logger, database, scheduler, chat, overlays and OBS.

``docs/hooks.md`` documents each hook; a test fails when one here is missing there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .cli_ext import CliCommand
    from .commands import Command
    from .commit import Transaction
    from .context import PluginContext
    from .events import ChatMessage, Event
    from .gating import Verdict
    from .registry import (
        Badge,
        ChatConnectorSpec,
        ConfigModel,
        DoctorCheck,
        EventType,
        Job,
        Metric,
        Models,
        Overlay,
        Route,
        WebhookProvider,
    )

PROJECT = "limelight"
hookspec = pluggy.HookspecMarker(PROJECT)


# -- registration ------------------------------------------------------------------------------


@hookspec
def register_config_model(register: Callable[[ConfigModel], None]) -> None:
    """Declare the typed model of your ``[plugins.<name>]`` config table (for module
    plugins; a :class:`limelight.Plugin` declares ``config_model`` on the class instead).

    :param register: call with ``ConfigModel(MySettings)`` where ``MySettings`` is a
        pydantic model. The host validates the table against it before ``startup``; a
        misspelled key or a wrong type disables your plugin with a message naming the key.
        Your validated settings are ``ctx.config``.
    """


@hookspec
def register_commands(register: Callable[[Command], None]) -> None:
    """Provide chat commands.

    :param register: call with each :class:`limelight.Command`, usually the methods you
        decorated with ``@command`` read off ``self`` (``register(self.top)``), optionally
        with options from your config (``self.top.with_options(cooldown=...)``). Names and
        aliases are unique across plugins and the core's ``!help``/``!commands``: a
        collision disables the later plugin with a reason naming both.
    """


@hookspec
def register_routes(register: Callable[[Route], None]) -> None:
    """Add web routes.

    :param register: call with ``Route(method, path, handler, auth=...)``; ``handler``
        is usually a bound method (``self.recent``). ``auth`` is ``"admin"`` (Bearer admin
        token or the streamer's dashboard session, the default), ``"moderator"`` (those, or
        a moderator's session: queue controls, chat tools), ``"overlay"`` (overlay token) or
        ``"public"``, whatever the path. By convention paths live under
        ``/api/<plugin>/`` (admin JSON) or ``/p/<plugin>/`` (pages). A ``nav`` label lists
        a GET page in the dashboard's navigation.
    """


@hookspec
def register_overlays(register: Callable[[Overlay], None]) -> None:
    """Provide browser-source overlays.

    :param register: call with ``Overlay(name, template, events=(...), width, height)``.
        The page is served at ``/overlays/<name>?token=...`` and receives the listed event
        types over its WebSocket.
    """


@hookspec
def register_models(register: Callable[[Models], None]) -> None:
    """Declare your database models.

    :param register: call with ``Models(app, models_module, migrations_module)``. Each
        plugin is its own tortoise app with its own migrations; the host applies pending
        migrations at startup.
    """


@hookspec
def register_jobs(register: Callable[[Job], None]) -> None:
    """Provide recurring scheduled jobs.

    :param register: call with ``Job(id, func, trigger, trigger_args)``; ``func`` (a bound
        method, called with no argument) runs on the event loop. For one-off work tied to
        a database row (a drop's start), call ``ctx.scheduler.run_at`` from ``startup``
        instead, so it is rebuilt after a restart.
    """


@hookspec
def register_webhook_providers(register: Callable[[WebhookProvider], None]) -> None:
    """Provide payment or tip providers.

    :param register: call with ``WebhookProvider(name, handle)``; deliveries arrive at
        ``/webhooks/<name>``.
    """


@hookspec
def register_chat_connectors(register: Callable[[ChatConnectorSpec], None]) -> None:
    """Provide chat platforms.

    :param register: call with ``ChatConnectorSpec(name, factory)``; ``factory()`` (a
        bound method) returns a :class:`limelight.chat.ChatConnector`, or ``None`` when the
        platform is switched off in your config.
    """


@hookspec
def register_badges(register: Callable[[Badge], None]) -> None:
    """Declare viewer badges your plugin can award (with ``ctx.badges.award``).

    :param register: call with ``Badge(name, label, icon)``.
    """


@hookspec
def register_event_types(register: Callable[[EventType], None]) -> None:
    """Declare your own event types, namespaced ``<plugin>.<name>``.

    :param register: call with ``EventType("merch.drop_started")``. Declared types can be
        posted to ``/api/events`` and delivered to overlays.
    """


@hookspec
def register_metrics(register: Callable[[Metric], None]) -> None:
    """Offer a quantity of yours that challenges (and any goal-setting plugin) can count.

    :param register: call with ``Metric(name, label, events, measure, unit)``: ``name`` is
        namespaced ``<plugin>.<name>`` (``"shop.guests_hosted"``), ``events`` the event
        types it counts and ``measure(event)`` (usually a bound method, pure and quick) how
        much one of them adds. The challenges plugin lists it among its metrics and feeds
        it exactly once per event. See docs/challenges.md.
    """


@hookspec
def register_doctor_checks(register: Callable[[DoctorCheck], None]) -> None:
    """Add checks to ``limelight doctor`` (a provider's credentials, a reachable API).

    :param register: call with ``DoctorCheck(title, run)``; ``run()`` (a bound method, may
        be async) returns the problems found, each a sentence naming the key to fix and
        never a secret's value. It runs with your config, without the server started.
    """


@hookspec
def register_cli_commands(register: Callable[[CliCommand], None]) -> None:
    """Add sub-commands to the ``limelight`` CLI (``limelight <plugin>-<verb>``).

    :param register: call with ``CliCommand(name, help, run, arguments)``; ``arguments``
        adds options to an ``argparse`` parser, ``run(args)`` returns the exit code. Names
        collide like commands do.
    """


# -- lifecycle -----------------------------------------------------------------------------


@hookspec
def startup(ctx: PluginContext[Any]) -> None:
    """Called once after the database is ready and before events flow. May be async.

    Rebuild in-memory state here (badges held, pending scheduled work). An exception
    disables your plugin alone.
    """


@hookspec
def shutdown(ctx: PluginContext[Any]) -> None:
    """Called once when the server stops. May be async. Release what ``startup`` took."""


# -- events --------------------------------------------------------------------------------------


@hookspec
def record_events(
    events: list[Event], tx: Transaction, ctx: PluginContext[Any]
) -> Mapping[int, object] | None:
    """Write this plugin's durable rows for newly accepted events, in the transaction that
    commits the events themselves. May be async. This is the only place a plugin writes
    what an event must leave behind: the core owns every retry.

    Called with each batch of events the bus commits (money and other rare events; never
    the batched chat log, never test events), before the provider gets its 2xx. What you
    write here commits together with the events, in one disk flush for the whole batch:
    rows that must exist if the event does (a ledger entry, an alert in the outbox via
    ``ctx.overlays.alert(..., tx=tx)``).

    If it raises or times out, only this plugin's writes for the batch are rolled back and
    the core marks the events as not yet recorded for it; it then calls this hook again
    for each such event alone, in a fresh transaction, before your ``on_event`` sees it and
    before the provider is answered. If that fails too, what you raised decides the answer:
    a database error that passes (``OperationalError``, a lost connection, a timeout) gets
    the provider a 503 and its retry (or the next start) calls this hook again; anything
    else (``ValueError``, ``IntegrityError``, ...) gets it a 422 and puts the delivery in
    the quarantine (see ``limelight.failures``). So ``on_event`` never writes these rows
    itself, and never sees an event whose rows are missing.

    :return: optionally ``{event.id: value}``: what ``on_event`` needs of the write (the
        row, a decision); it gets it from ``ctx.recorded(event)`` once ``tx`` commits.

    Rules: ORM calls made here run in ``tx`` by themselves. Change memory only in
    ``tx.on_commit(callback)`` callbacks, because a batch can be rolled back and written
    again. Do no network I/O and never publish: every webhook is waiting on this call.
    """


@hookspec
def on_event(event: Event, ctx: PluginContext[Any]) -> None:
    """React to an accepted event. May be async.

    Called once per event, in the order events arrived from each source, after money events
    are committed with what ``record_events`` wrote for them. ``event.test`` is true for
    simulated events: show them (an alert, a meter moving), but write no ledgers,
    memberships or stock. A money event the server had not finished reacting to when it
    stopped is dispatched again at the next start: react idempotently (mark what you did
    in your own rows).
    """


@hookspec
def check_chat_message(message: ChatMessage, ctx: PluginContext[Any]) -> Verdict | None:
    """Decide whether a chat message may be shown. May be async.

    :return: ``None`` (no opinion), or a :class:`limelight.gating.Verdict` (``allow``,
        ``hide`` or ``delete``, with a reason). The strictest verdict of all plugins wins.
        A plugin that raises or times out counts as ``hide``: gating fails closed.
    """
