"""The thank-you in chat, merged when a burst of tips arrives so chat is not flooded.

Why on its own: it is the only reaction with a timer (``thanks_window``), and the only one
that puts viewer-chosen text (a payer's name, their message) into a streamer's template.
That text goes through :func:`limelight.fill`, which never expands a value it inserted: a
Ko-fi payer named ``{amount}`` is thanked as ``{amount}``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from limelight import Money, PluginContext, fill

from .config import TipsConfig


@dataclass(frozen=True, slots=True)
class Thank:
    """One tip to thank for: the name as shown on stream, the amount, the shown message."""

    name: str
    money: Money
    message: str


class Thanks:
    def __init__(self, ctx: PluginContext[TipsConfig]) -> None:
        self.ctx = ctx
        self.pending: list[Thank] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, thank: Thank) -> None:
        self.pending.append(thank)
        if self.ctx.config.thanks_window <= 0:
            await self.flush()
        elif self._task is None or self._task.done():
            self._task = asyncio.create_task(self._after_window(), name="tips:thanks")

    async def _after_window(self) -> None:
        await asyncio.sleep(self.ctx.config.thanks_window)
        await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            await self.ctx.chat.say(self.text(batch), priority="money")
        except Exception:
            self.ctx.log.exception("could not send the chat thank-you")

    def text(self, batch: list[Thank]) -> str:
        config, money = self.ctx.config, self.ctx.money
        if len(batch) == 1:
            one = batch[0]
            return fill(
                config.thanks_template, name=one.name, amount=money(one.money), message=one.message
            )
        names: list[str] = []
        for thank in batch:
            if thank.name not in names:
                names.append(thank.name)
        return fill(
            config.thanks_burst_template,
            names=join_names(names),
            count=len(batch),
            amounts=", ".join(money(t.money) for t in batch),
        )

    async def stop(self) -> None:
        """Send what is waiting now rather than lose it with the server."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


def join_names(names: list[str], limit: int = 5) -> str:
    """``a``, ``a and b``, ``a, b, c and d``; past ``limit``: ``a, b, c, d and 3 others``."""
    if len(names) > limit:
        rest = len(names) - limit + 1
        return ", ".join(names[: limit - 1]) + f" and {rest} others"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
