"""Overlays: browser sources for OBS with durable alerts, live state and chat.

Plugins reach the service as ``ctx.overlays`` (:class:`OverlayService`): ``alert`` for
durable alerts (``alerts`` for a batch of them in ``record_events``), ``variation`` to
pick how an alert looks, ``set_state`` for snapshots (leaderboards, goals), ``send`` for
ephemeral live messages, plus queue control. Amounts are formatted by the one money
formatter, :func:`limelight.format_money`. See ``docs/overlays.md``.
"""

from __future__ import annotations

from .outbox import OutboxAlert
from .service import NewAlert, OverlayError, OverlayService
from .variations import Variation

__all__ = ["NewAlert", "OutboxAlert", "OverlayError", "OverlayService", "Variation"]
