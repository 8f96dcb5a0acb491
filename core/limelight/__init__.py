"""Limelight: a self-hosted chat-bot and overlay server for live streamers.

Plugin authors need little from here: ``from limelight import hookimpl`` marks hook
implementations; events, money and the registration specs are re-exported for convenience.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("limelight")

from .commands import command, example  # noqa: E402
from .commit import Transaction  # noqa: E402
from .config import PluginConfig  # noqa: E402
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
    Milestone,
    Raid,
    Refund,
    StreamOffline,
    StreamOnline,
    Subscription,
    Tip,
    ViewerRef,
)
from .gating import Verdict  # noqa: E402
from .money import Money  # noqa: E402
from .obs.errors import ObsActionDropped, ObsError, ObsRequestError, ObsUnavailable  # noqa: E402
from .registry import (  # noqa: E402
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

__all__ = [
    "Badge",
    "ChatConnectorSpec",
    "ChatDeleted",
    "ChatMessage",
    "Cheer",
    "ConfigModel",
    "CustomEvent",
    "Donation",
    "Event",
    "EventType",
    "GiftBomb",
    "Job",
    "MembershipChanged",
    "MerchOrder",
    "Milestone",
    "Models",
    "Money",
    "ObsActionDropped",
    "ObsError",
    "ObsRequestError",
    "ObsUnavailable",
    "Overlay",
    "PluginConfig",
    "Raid",
    "Refund",
    "Route",
    "StreamOffline",
    "StreamOnline",
    "Subscription",
    "Tip",
    "Transaction",
    "Verdict",
    "ViewerRef",
    "WebhookProvider",
    "__version__",
    "command",
    "example",
    "hookimpl",
]
