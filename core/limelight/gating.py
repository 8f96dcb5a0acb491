"""Chat gating verdicts: whether a chat message may be shown.

Gating fails closed: when a plugin that gates chat raises or times out, the message is
hidden rather than let through, so a broken supporter-only filter never opens the chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Action(IntEnum):
    """Ordered by strictness, so ``max()`` picks the verdict that wins."""

    ALLOW = 0
    HIDE = 1
    DELETE = 2


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str = ""
    plugin: str = ""

    @classmethod
    def allow(cls, reason: str = "") -> Verdict:
        return cls(Action.ALLOW, reason)

    @classmethod
    def hide(cls, reason: str = "") -> Verdict:
        return cls(Action.HIDE, reason)

    @classmethod
    def delete(cls, reason: str = "") -> Verdict:
        return cls(Action.DELETE, reason)

    @property
    def shown(self) -> bool:
        return self.action is Action.ALLOW


ALLOW = Verdict(Action.ALLOW)


def strictest(verdicts: list[Verdict]) -> Verdict:
    if not verdicts:
        return ALLOW
    return max(verdicts, key=lambda v: v.action)
