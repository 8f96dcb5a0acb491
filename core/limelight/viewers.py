"""Viewers and their platform identities.

One person may chat on Twitch and tip through Stripe; linking their identities makes their
tips, badges and memberships follow them. Identities are unique per ``(platform, id)``.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from .events import ViewerRef
from .models import Viewer, ViewerIdentity


class Viewers:
    async def get_or_create(self, ref: ViewerRef) -> Viewer:
        """The viewer behind ``ref``, created on first sight; keeps the display name fresh."""
        ident = await ViewerIdentity.get_or_none(
            platform=ref.platform, platform_id=ref.id
        ).prefetch_related("viewer")
        if ident is not None:
            if ref.name and ident.name != ref.name:
                ident.name = ref.name
                await ident.save(update_fields=["name", "last_seen"])
            return ident.viewer
        viewer = await Viewer.create(display_name=ref.name)
        try:
            await ViewerIdentity.create(
                viewer=viewer, platform=ref.platform, platform_id=ref.id, name=ref.name
            )
        except IntegrityError:  # created concurrently: use the winner
            await viewer.delete()
            ident = await ViewerIdentity.get(platform=ref.platform, platform_id=ref.id)
            return await ident.viewer
        return viewer

    async def find(self, ref: ViewerRef) -> Viewer | None:
        ident = await ViewerIdentity.get_or_none(platform=ref.platform, platform_id=ref.id)
        return await ident.viewer if ident else None

    async def link(self, viewer: Viewer, ref: ViewerRef) -> Viewer:
        """Attach ``ref`` to ``viewer``; if ``ref`` already belonged to another viewer, merge
        that viewer's identities into this one."""
        ident = await ViewerIdentity.get_or_none(platform=ref.platform, platform_id=ref.id)
        if ident is None:
            await ViewerIdentity.create(
                viewer=viewer, platform=ref.platform, platform_id=ref.id, name=ref.name
            )
            return viewer
        if ident.viewer_id != viewer.id:  # type: ignore[attr-defined]
            old_id = ident.viewer_id  # type: ignore[attr-defined]
            await ViewerIdentity.filter(viewer_id=old_id).update(viewer_id=viewer.id)
        return viewer

    async def identities(self, viewer: Viewer) -> list[ViewerRef]:
        rows = await ViewerIdentity.filter(viewer=viewer).order_by("id")
        return [ViewerRef(r.platform, r.platform_id, r.name) for r in rows]
