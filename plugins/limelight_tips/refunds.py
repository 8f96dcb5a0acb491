"""Refunds: negative ledger rows, linked to the tip they reverse even when they come first.

Why on its own: providers do not promise order (Stripe may send ``charge.refunded`` before
``checkout.session.completed``), so a refund can name a tip the ledger does not have yet.
Such a refund is kept as an "orphan" keyed by the tip's ``provider:provider_id`` (in the
table, so it survives a restart); the tip adopts it when it arrives, and a tip that
arrives fully refunded is counted but never alerted or thanked.

Every refund row is written by ``record_events``, like every other row: a refund made by
hand in the dashboard is published as a :class:`limelight.Refund` (other plugins reverse
what the tip granted) and then read back from the ledger.

A refund never gives back more than is left of its tip, nor in another currency:

* At the door (the generic and Stripe providers, the dashboard), :func:`refusal` names
  what is wrong and the delivery gets a 400: "the refund of 4.00 USD is more than the
  1.00 USD left of the tip", "the refund is in EUR but the tip was in USD".
* In the transaction (the authority, also for ``POST /api/events`` and for two refunds
  racing each other), :meth:`Refunds.apply` caps the row at what is left: an excess is
  not counted, a refund in another currency counts zero, and the row's ``reason`` says
  what was asked.
* A refund whose tip has not arrived is kept pending with the amount asked; when the tip
  arrives it is linked and capped the same way (:func:`ledger.adopt_refunds`).
"""

from __future__ import annotations

from limelight import Money, PluginContext, Refund, Transaction

from . import ledger
from .config import TipsConfig
from .models import LedgerEntry


class RefundError(ValueError):
    """A refund by hand that cannot be made; the message says why."""


async def refusal(event: Refund) -> str | None:
    """Why ``event`` may not be recorded (checked before a provider is answered, so it
    gets a 400 with the reason), or ``None``.

    ``None`` too for a retry of a refund already in the ledger (the bus answers it as a
    duplicate) and for a refund whose tip is not in the ledger yet (kept pending, capped
    when the tip arrives)."""
    if await ledger.row_of(event.source, event.source_id) is not None:
        return None
    original = await ledger.row_of(event.original_source, event.original_id)
    if original is None:
        return None
    if original.kind not in ("tip", "cheer"):
        return f"{event.original_id!r} is a {original.kind}, not a tip; only tips are refunded"
    money = event.amount
    if money.currency != original.currency:
        return f"the refund is in {money.currency} but the tip was in {original.currency}"
    left = Money(await ledger.left_minor(original), money.currency)
    if money.minor > left.minor:
        return f"the refund of {money} is more than the {left} left of the tip"
    return None


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
        reason = event.reason
        if original is None:
            self.ctx.log.warning(
                "refund %s:%s points at %s, which is not in the ledger yet; it is linked "
                "to the tip (and capped at it) when the tip arrives",
                event.source,
                event.source_id,
                key,
            )
        else:
            left = await ledger.left_minor(original)
            capped = ledger.cap_refund(money, original.currency, left)
            if capped != money:
                reason = ledger.capped_reason(reason, money, capped)
                self.ctx.log.warning("refund %s:%s: %s", event.source, event.source_id, reason)
                money = capped
        entry = await ledger.record(
            provider=event.source,
            provider_id=event.source_id,
            kind="refund",
            money=-money,
            **ledger.payer_of(original),
            occurred_at=event.occurred_at,
            event_id=event.id,
            original=original,
            reason=reason,
            detail="refund",
            refund_of=key,
        )
        if original is None:
            batch.add(key)
            tx.on_commit(lambda: self.orphans.add(key))
        return entry

    async def adopt(
        self, tip_id: int, key: str, amount_minor: int, tx: Transaction, batch: set[str]
    ) -> bool:
        """Link the refunds that came before the tip ``tip_id`` (its ``ledger.key_of``
        ``key``; in ``record_events``); ``False`` when they give all of it back, so the tip
        is not announced. The row is read only when a refund waits for it (rare)."""
        if key not in self.orphans and key not in batch:
            return True
        tip = await LedgerEntry.get(id=tip_id)
        given_back = await ledger.adopt_refunds(tip)
        batch.discard(key)
        tx.on_commit(lambda: self.orphans.discard(key))
        return given_back < amount_minor

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
