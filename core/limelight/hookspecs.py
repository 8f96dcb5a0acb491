"""Every hook a Limelight plugin can implement.

A plugin is a module (or object) with functions marked ``@limelight.hookimpl`` whose names
are the hook names below. Hooks come in three kinds:

* **Registration hooks** (``register_*``) are synchronous and run once at startup. They
  receive a ``register`` callback owned by the host; call it once per thing you provide.
  The host records that your plugin owns it and rejects duplicates.
* **Lifecycle hooks** (``startup``, ``shutdown``) may be ``async def``.
* **Event hooks** (``on_event``, ``check_chat_message``) may be ``async def``; the host
  awaits them, isolates each plugin's call (an exception or a timeout in one plugin is
  logged and counted, never seen by the others) and records timings.

Every hook that receives ``ctx`` gets the calling plugin's own :class:`limelight.context.
PluginContext`: its typed config, logger, database, scheduler, chat, overlays and OBS.

``docs/hooks.md`` documents each hook; a test fails when one here is missing there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .commit import Transaction
    from .context import PluginContext
    from .events import ChatMessage, Event
    from .gating import Verdict
    from .registry import (
        Badge,
        ChatConnectorSpec,
        ConfigModel,
        EventType,
        Job,
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
    """Declare the typed model of your ``[plugins.<name>]`` config table.

    :param register: call with ``ConfigModel(MySettings)`` where ``MySettings`` is a
        pydantic model. The host validates the table against it before ``startup``; a
        misspelled key or a wrong type disables your plugin with a message naming the key.
        Your validated settings are ``ctx.config``.
    """


@hookspec
def register_commands(register: Callable[[Any], None]) -> None:
    """Provide chat commands.

    :param register: call with each :class:`limelight.commands.Command`, usually the
        functions you decorated with ``@command``. Names and aliases are unique across
        plugins.
    """


@hookspec
def register_routes(register: Callable[[Route], None]) -> None:
    """Add web routes.

    :param register: call with ``Route(method, path, handler, auth=...)``. ``auth`` is
        ``"admin"`` (Bearer admin token, the default), ``"overlay"`` (overlay token) or
        ``"public"``. By convention paths live under ``/api/<plugin>/`` (admin JSON) or
        ``/p/<plugin>/`` (pages).
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

    :param register: call with ``Job(id, func, trigger, trigger_args)``; ``func(ctx)`` runs
        on the event loop. For one-off work tied to a database row (a drop's start), call
        ``ctx.scheduler.run_at`` from ``startup`` instead, so it is rebuilt after a restart.
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

    :param register: call with ``ChatConnectorSpec(name, factory)``; ``factory(ctx)``
        returns a :class:`limelight.chat.ChatConnector`.
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


# -- lifecycle -----------------------------------------------------------------------------


@hookspec
def startup(ctx: PluginContext) -> None:
    """Called once after the database is ready and before events flow. May be async.

    Rebuild in-memory state here (badges held, pending scheduled work). An exception
    disables your plugin alone.
    """


@hookspec
def shutdown(ctx: PluginContext) -> None:
    """Called once when the server stops. May be async. Release what ``startup`` took."""


# -- events --------------------------------------------------------------------------------------


@hookspec
def record_events(events: list[Event], tx: Transaction, ctx: PluginContext) -> None:
    """Write this plugin's durable rows for newly accepted events, in the transaction that
    commits the events themselves. May be async.

    Called with each batch of events the bus commits one by one (money and other rare
    events; never the batched chat log, never test events, never a replay or an event
    dispatched again after a restart), before the provider gets its 2xx. What you write
    here commits together with the events, in one disk flush for the whole batch: use it
    for rows that must exist if the event does (a ledger entry, an alert in the outbox via
    ``ctx.overlays.alert(..., tx=tx)``).

    Rules: ORM calls made here run in ``tx`` by themselves. Change memory only in
    ``tx.on_commit(callback)`` callbacks, because a batch can be rolled back and written
    again. Do no network I/O and never publish: every webhook is waiting on this call.
    If it raises or times out, only this plugin's writes for the batch are rolled back; the
    events still commit and reach :func:`on_event`, which must then write what is missing
    (it has to be idempotent anyway: after a crash, events are dispatched again).
    """


@hookspec
def on_event(event: Event, ctx: PluginContext) -> None:
    """React to an accepted event. May be async.

    Called once per event, in the order events arrived from each source, after money events
    are committed. ``event.test`` is true for simulated events: show them, but write no
    ledgers, memberships or stock.
    """


@hookspec
def check_chat_message(message: ChatMessage, ctx: PluginContext) -> Verdict | None:
    """Decide whether a chat message may be shown. May be async.

    :return: ``None`` (no opinion), or a :class:`limelight.gating.Verdict` (``allow``,
        ``hide`` or ``delete``, with a reason). The strictest verdict of all plugins wins.
        A plugin that raises or times out counts as ``hide``: gating fails closed.
    """
