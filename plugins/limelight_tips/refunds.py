"""Refunds: negative ledger rows, linked to the tip they reverse even when they come first.

Why on its own: providers do not promise order (Stripe may send ``charge.refunded`` before
``checkout.session.completed``), so a refund can name a tip the ledger does not have yet.
Such a refund is kept as an "orphan" keyed by the tip's ``provider:provider_id`` (in the
table, so it survives a restart); the tip adopts it when it arrives, and a tip that
arrives fully refunded is counted but never alerted or thanked.

Every refund row is written by ``record_events``, like every other row: a refund made by
hand in the dashboard is published as a :class:`limelight.Refund` (other plugins reverse
what the tip granted) and then read back from the ledger.
"""

from __future__ import annotations

from limelight import Money, PluginContext, Refund, Transaction

from . import ledger
from .config import TipsConfig
from .models import LedgerEntry


class RefundError(ValueError):
    """A refund by hand that cannot be made; the message says why."""


class Refunds:
    def __init__(self, ctx: PluginContext[TipsConfig]) -> None:
        self.ctx = ctx
        #: ``refund_of`` keys of committed refunds whose tip has not arrived.
        self.orphans: set[str] = set()

    async def start(self) -> None:
        self.orphans = await ledger.orphan_refund_keys()

    async def apply(self, event: Refund, tx: Transaction, batch: set[str]) -> LedgerEntry:
        """The negative row for ``event`` (in ``record_events``). ``batch`` collects the
        orphan keys of this transaction, so a tip later in the same batch adopts them."""
        original = await ledger.row_of(event.original_source, event.original_id)
        money = event.amount
        key = ledger.key_of(event.original_source, event.original_id)
        log = self.ctx.log
        if original is None:
            log.warning(
                "refund %s:%s points at %s, which is not in the ledger yet; it is linked "
                "to the tip when the tip arrives",
                event.source,
                event.source_id,
                key,
            )
        elif original.currency != money.currency:
            log.warning(
                "refund %s:%s is in %s but the tip was in %s",
                event.source,
                event.source_id,
                money.currency,
                original.currency,
            )
        else:
            left = original.amount_minor - await ledger.refunded_minor(original)
            if money.minor > left:
                log.warning(
                    "refund %s:%s of %s is more than the %s left of the tip",
                    event.source,
                    event.source_id,
                    self.ctx.money(money),
                    self.ctx.money(Money(left, money.currency)),
                )
        entry = await ledger.record(
            provider=event.source,
            provider_id=event.source_id,
            kind="refund",
            money=-money,
            **ledger.payer_of(original),
            occurred_at=event.occurred_at,
            event_id=event.id,
            original=original,
            reason=event.reason,
            detail="refund",
            refund_of=key,
        )
        if original is None:
            batch.add(key)
            tx.on_commit(lambda: self.orphans.add(key))
        return entry

    async def adopt(self, tip: LedgerEntry, tx: Transaction, batch: set[str]) -> bool:
        """Link the refunds that came before ``tip`` (in ``record_events``); ``False`` when
        they give all of it back, so the tip is not announced."""
        key = ledger.key_of(tip.provider, tip.provider_id)
        if key not in self.orphans and key not in batch:
            return True
        given_back = await ledger.adopt_refunds(tip)
        batch.discard(key)
        tx.on_commit(lambda: self.orphans.discard(key))
        return given_back < int(tip.amount_minor)

    async def by_hand(
        self, entry: LedgerEntry, amount: Money | None, reason: str
    ) -> tuple[LedgerEntry, bool]:
        """Refund ``entry`` from the dashboard: ``(refund row, whether it is new)``.

        Keyed by what was refunded before, so a double click refunds once."""
        if entry.kind not in ("tip", "cheer"):
            raise RefundError("only tips and cheers can be refunded")
        already = await ledger.refunded_minor(entry)
        left = entry.amount_minor - already
        if left <= 0:
            raise RefundError("this tip is already fully refunded")
        money = amount if amount is not None else Money(left, entry.currency)
        if money.currency != entry.currency:
            raise RefundError(f"the refund must be in {entry.currency}")
        if not 0 < money.minor <= left:
            raise RefundError(
                "the refund must be more than zero and at most "
                + self.ctx.money(Money(left, entry.currency))
            )
        event = Refund(
            source="tips",
            source_id=f"manual:{entry.id}:{already}",
            amount=money,
            original_source=entry.provider,
            original_id=entry.provider_id,
            reason=reason or "marked as refunded in the dashboard",
        )
        accepted = await self.ctx.publish(event)
        # committed with the event (or written again by the core before publish returned)
        row = await ledger.row_of(event.source, event.source_id)
        if row is None:
            raise RuntimeError(
                f"refund {event.source_id} is in the event log but its ledger row could not "
                "be written; it is written again at the next start"
            )
        return row, not accepted.duplicate
