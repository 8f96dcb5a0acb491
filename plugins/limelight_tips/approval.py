"""The approval queue: tip messages that wait for the streamer before they reach the stream.

Why on its own: a held alert lives longer than any event — it is written with its tip (in
``record_events``, so a held message can never be lost nor shown unapproved) and played
whenever the streamer decides, from the dashboard. Only the first decision counts (one
conditional UPDATE), so two clicks in two tabs play the alert once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from limelight import Money, PluginContext

from .alerting import Alerting
from .config import TipsConfig
from .models import PendingAlert
from .speech import Speech

#: Items the dashboard lists at most.
MAX_LISTED = 200


class Approval:
    def __init__(self, ctx: PluginContext[TipsConfig], alerting: Alerting, speech: Speech) -> None:
        self.ctx = ctx
        self.alerting = alerting
        self.speech = speech

    async def hold(self, entry_id: int, kind: str, data: dict[str, Any], money: Money) -> None:
        """Queue the alert of ledger row ``entry_id`` for a decision (in ``record_events``:
        the ORM writes in the bus's transaction)."""
        await PendingAlert.create(
            entry_id=entry_id,
            kind=kind,
            name=data["name"],
            amount=self.ctx.money(money),
            message=data["message"],
            payload=data,
        )

    @staticmethod
    async def held(entry_id: int) -> bool:
        """Whether the alert of ledger row ``entry_id`` went to the queue."""
        return await PendingAlert.exists(entry_id=entry_id)

    @staticmethod
    async def pending() -> list[PendingAlert]:
        return await PendingAlert.filter(status="pending").order_by("id").limit(MAX_LISTED)

    async def decide(self, pending_id: int, approve: bool) -> PendingAlert | None:
        """Approve (alert with the message, spoken if speech is on) or reject (alert
        without it). ``None`` when nothing with that id is waiting."""
        status = "approved" if approve else "rejected"
        changed = await PendingAlert.filter(id=pending_id, status="pending").update(
            status=status, decided_at=datetime.now(UTC)
        )
        if not changed:
            return None
        row = await PendingAlert.get(id=pending_id)
        data = dict(row.payload)
        if not approve:
            data["message"] = ""
            data.pop("tts", None)
        money = Money.parse(data["amount"], data["currency"])
        try:
            await self.alerting.push(row.kind, data, money, None, test=row.test)
        except Exception:
            self.ctx.log.exception("could not queue the approved %s alert", row.kind)
            return row
        if data.get("tts"):
            await self.speech.say(str(data["tts"]))
        return row
