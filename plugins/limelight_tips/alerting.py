"""A tip's alert on the alerts plugin's ``alerts`` overlay: what it shows, which tier.

Why on its own: three paths queue a tip alert — a new tip (in the bus's transaction), an
approved or rejected message (from the dashboard) and a test tip (in memory only) — and all
three must show the same thing: the moderated name and message, the amount through the one
money formatter, and the tier the amount reaches (in the base currency when the tip's own
currency has no tier).
"""

from __future__ import annotations

from typing import Any

from limelight import Cheer, Event, Money, PluginContext, Tip, Transaction
from limelight.overlays import NewAlert

from .config import TipsConfig
from .ledger import Converter
from .moderation import Shown


class Alerting:
    def __init__(self, ctx: PluginContext[TipsConfig], converter: Converter) -> None:
        self.ctx = ctx
        self.converter = converter

    def data(self, event: Tip | Cheer, money: Money, kind: str, shown: Shown) -> dict[str, Any]:
        """What the overlay page shows (every text is rendered as text, never HTML)."""
        data: dict[str, Any] = {
            "name": shown.name,
            "amount": money.to_wire(),
            "currency": money.currency,
            "display_amount": self.ctx.money(money),
            "message": shown.message,
            "provider": (event.provider if isinstance(event, Tip) else "") or event.source,
            "anonymous": event.anonymous,
        }
        if kind == "cheer":
            data["bits"] = money.minor
            value = self.converter.value_of_bits(money.minor)
            data["value"] = value.to_wire()
            data["value_currency"] = value.currency
        if shown.speak:
            data["tts"] = shown.message
        return data

    async def push(
        self,
        kind: str,
        data: dict[str, Any],
        money: Money,
        event: Event | None,
        *,
        test: bool = False,
    ) -> None:
        """Queue one alert outside ``record_events`` (an approved tip, a test alert: kept in
        memory only). Alerts of a recorded batch go through :meth:`push_many`, in its
        transaction."""
        new = self.new(kind, data, money, event)
        await self.ctx.overlays.alert(
            self.ctx.config.alerts_overlay,
            kind=new.kind,
            data=new.data,
            test=test,
            event=event,
            variation=new.variation,
        )

    async def push_many(self, alerts: list[NewAlert], tx: Transaction) -> None:
        """Queue the alerts of a batch of events (made by :meth:`new`) in ``tx`` with one
        insert; like :meth:`push` with ``tx`` for each."""
        if alerts:
            await self.ctx.overlays.alerts(self.ctx.config.alerts_overlay, alerts, tx=tx)

    def new(self, kind: str, data: dict[str, Any], money: Money, event: Event | None) -> NewAlert:
        """The alert for ``data``, with the tier the amount reaches."""
        overlays = self.ctx.overlays
        overlay = self.ctx.config.alerts_overlay
        count = money.minor if kind == "cheer" else None
        variation = overlays.variation(kind, money, overlay=overlay, count=count)
        base = self.converter.to_base(money)
        if variation.min_amount is None and base is not None and base != money:
            # no tier in the tip's own currency: try the tiers of the base currency
            in_base = overlays.variation(kind, base, overlay=overlay, count=count)
            if in_base.min_amount is not None:
                variation = in_base
        return NewAlert(kind, data, event, variation)
