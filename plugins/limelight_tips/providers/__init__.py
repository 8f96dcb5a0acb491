"""Tip providers: each turns one verified delivery into events.

A provider module has ``NAME``, ``MAX_BODY`` and ``handle(intake, request, body)``. What
a provider needs of the running plugin is :class:`Intake`: its validated
``[webhooks.<name>]`` table and the tip links that tell which chat viewer paid.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from limelight import Event, PluginContext
from limelight.webhooks import WebhookError

from ..attribution import Links
from ..config import TipsConfig, WebhookTable, load_webhooks

if TYPE_CHECKING:
    from aiohttp import web


T = TypeVar("T", bound=WebhookTable)


class Provider(Protocol):
    """The shape of a provider module (``kofi``, ``stripe``, ``generic``)."""

    NAME: str
    MAX_BODY: int

    async def handle(self, intake: Intake, request: web.Request, body: bytes) -> list[Event]: ...


class Intake:
    """The validated provider tables and the tip links, loaded at startup.

    Why at startup: the tables are secrets read from ``[webhooks]``; an invalid one stops
    the plugin with the key named (``startup failed``), and until then a delivery is told
    to come back later rather than be lost."""

    def __init__(self) -> None:
        self.tables: dict[str, WebhookTable] = {}
        self.links: Links | None = None
        self.started = False

    def start(self, ctx: PluginContext[TipsConfig]) -> None:
        self.tables = load_webhooks(ctx.settings.webhooks)
        config = ctx.config
        secret = config.link_secret or ctx.settings.security.admin_token
        self.links = (
            Links(
                secret,
                link_ttl=timedelta(minutes=config.link_ttl_minutes),
                code_ttl=timedelta(days=config.code_ttl_days),
            )
            if secret
            else None
        )
        self.started = True
        if not self.tables:
            ctx.log.info(
                "no tip provider is configured; add [webhooks.kofi], [webhooks.stripe] "
                "or [webhooks.generic] (see docs/tips.md)"
            )

    def table(self, name: str, model: type[T]) -> T:
        """The validated ``[webhooks.<name>]`` table, or a 404 saying how to set it up."""
        if not self.started:
            raise WebhookError(503, "the tips plugin is starting; retry later")
        table = self.tables.get(name)
        if not isinstance(table, model):
            raise WebhookError(
                404,
                f"the {name} provider is not configured: add "
                f"[webhooks.{name}] to the config (see docs/tips.md)",
            )
        return table
