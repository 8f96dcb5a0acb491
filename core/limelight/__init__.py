"""Limelight: a self-hosted chat-bot and overlay server for live streamers.

Everything a plugin author touches is exported here: the :class:`Plugin` base class and
its typed :class:`PluginContext`, ``hookimpl``, the registration specs, ``@command`` and
:class:`Call`, the event classes, :class:`Money` and the one formatter and filler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("limelight")

from .orm_import import import_tortoise  # noqa: E402

import_tortoise()  # before anything imports tortoise: ~50 ms less at every start

from .cli_ext import CliCommand  # noqa: E402
from .commands import Call, Command, Mention, UsageError, command, example  # noqa: E402
from .commit import Transaction  # noqa: E402
from .config import NoConfig, PluginConfig  # noqa: E402
from .context import NotRunning, PluginContext  # noqa: E402
from .emotes import Emote, Fragment, Placed, parse_placed  # noqa: E402
from .events import (  # noqa: E402
    ChatDeleted,
    ChatMessage,
    Cheer,
    CustomEvent,
    Donation,
    Event,
    GiftBomb,
    MembershipChanged,
    MerchOrder,
    MerchRefund,
    Milestone,
    MoneyCustomEvent,
    Raid,
    Refund,
    StreamOffline,
    StreamOnline,
    Subscription,
    Tip,
    ViewerRef,
)
from .gating import Verdict  # noqa: E402
from .media import MediaError, StoredMedia  # noqa: E402
from .money import Money, format_money  # noqa: E402
from .obs.errors import ObsActionDropped, ObsError, ObsRequestError, ObsUnavailable  # noqa: E402
from .plugin import Plugin  # noqa: E402
from .registry import (  # noqa: E402
    AlertKind,
    Badge,
    ChatConnectorSpec,
    ConfigModel,
    DoctorCheck,
    EventType,
    Job,
    Metric,
    Models,
    Overlay,
    Register,
    Route,
    WebhookProvider,
)
from .text import duration, fill  # noqa: E402

if TYPE_CHECKING:
    from .milestones import Ladder, MilestoneSpec, MilestoneState

#: Exported on first use: building the milestone actions' pydantic models costs ~0.1 s,
#: which a server without a plugin that sets goals should not pay at start-up.
_LAZY = {"Ladder", "MilestoneSpec", "MilestoneState"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import milestones

        return getattr(milestones, name)
    raise AttributeError(f"module 'limelight' has no attribute {name!r}")


__all__ = [
    "AlertKind",
    "Badge",
    "Call",
    "ChatConnectorSpec",
    "ChatDeleted",
    "ChatMessage",
    "Cheer",
    "CliCommand",
    "Command",
    "ConfigModel",
    "CustomEvent",
    "DoctorCheck",
    "Donation",
    "Emote",
    "Event",
    "EventType",
    "Fragment",
    "GiftBomb",
    "Job",
    "Ladder",
    "MediaError",
    "MembershipChanged",
    "Mention",
    "MerchOrder",
    "MerchRefund",
    "Metric",
    "Milestone",
    "MilestoneSpec",
    "MilestoneState",
    "Models",
    "Money",
    "MoneyCustomEvent",
    "NoConfig",
    "NotRunning",
    "ObsActionDropped",
    "ObsError",
    "ObsRequestError",
    "ObsUnavailable",
    "Overlay",
    "Placed",
    "Plugin",
    "PluginConfig",
    "PluginContext",
    "Raid",
    "Refund",
    "Register",
    "Route",
    "StoredMedia",
    "StreamOffline",
    "StreamOnline",
    "Subscription",
    "Tip",
    "Transaction",
    "UsageError",
    "Verdict",
    "ViewerRef",
    "WebhookProvider",
    "__version__",
    "command",
    "duration",
    "example",
    "fill",
    "format_money",
    "hookimpl",
    "parse_placed",
]
