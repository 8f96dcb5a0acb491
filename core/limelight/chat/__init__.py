"""Chat: connectors (platforms), the chat service (``ctx.chat``) and its send queues.

Plugin authors writing a platform connector need :class:`ChatConnector` (subclass it),
:class:`RateLimit`, :class:`Outgoing` and :class:`ChatUnsupported`; see ``docs/chat.md``.
"""

from __future__ import annotations

from .clock import Clock, ManualClock, MonotonicClock
from .connector import ChatConnector, ChatSink, ChatUnsupported, LocalConnector
from .outbound import PRIORITIES, OutboundQueue, Outgoing, RateLimit, SentMessage, split_text
from .service import ChatService

__all__ = [
    "PRIORITIES",
    "ChatConnector",
    "ChatService",
    "ChatSink",
    "ChatUnsupported",
    "Clock",
    "LocalConnector",
    "ManualClock",
    "MonotonicClock",
    "OutboundQueue",
    "Outgoing",
    "RateLimit",
    "SentMessage",
    "split_text",
]
