"""The room plugin's API for other plugins (``ctx.peer("room", RoomLinks)``).

The VIP plugin's Stripe return page shows a new member their personal link this way::

    from limelight_room.api import RoomLinks

    room = self.ctx.peer("room", RoomLinks)
    link = room.link_for(viewer) if room is not None else None
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from limelight import ViewerRef


@runtime_checkable
class RoomLinks(Protocol):
    """What the ``room`` plugin offers other plugins."""

    def link_for(self, viewer: ViewerRef) -> str | None:
        """The viewer's personal, absolute room link, or ``None`` when the viewer may not
        enter (no membership of a room tier, or the room is not running). A dict read."""
        ...


__all__ = ["RoomLinks"]
