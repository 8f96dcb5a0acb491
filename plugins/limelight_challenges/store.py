"""Challenges as rows: seeding them from the config, creating and editing them from the
dashboard (both validated by the same :class:`~.config.ChallengeSettings`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from .config import ChallengeSettings
from .models import Challenge


def row_fields(settings: ChallengeSettings) -> dict[str, Any]:
    return {
        "title": settings.title,
        "metric": settings.metric,
        "target": settings.target,
        "window": settings.window,
        "starts": settings.starts,
        "ends": settings.ends,
        "recurring": settings.recurring,
        "audience": settings.audience,
        "milestones": [m.model_dump(mode="json") for m in settings.milestones],
        "rewards": [a.model_dump(mode="json") for a in settings.rewards],
        "paused": settings.paused,
        "show": settings.show,
    }


def settings_of(row: Challenge) -> dict[str, Any]:
    """A row in the form the dashboard edits (and :class:`ChallengeSettings` validates)."""
    return {
        "key": row.key,
        "title": row.title,
        "metric": row.metric,
        "target": int(row.target),
        "window": row.window,
        "starts": row.starts.isoformat() if row.starts else None,
        "ends": row.ends.isoformat() if row.ends else None,
        "recurring": row.recurring,
        "audience": row.audience,
        "milestones": list(row.milestones),
        "rewards": list(row.rewards),
        "paused": row.paused,
        "show": row.show,
    }


async def seed(challenges: Sequence[ChallengeSettings], now: datetime) -> int:
    """Create the config's challenges that are not in the database yet (by ``key``); the
    dashboard's edits of existing ones win. Returns how many were created."""
    created = 0
    for settings in challenges:
        if await Challenge.filter(key=settings.key).exists():
            continue
        try:
            await Challenge.create(
                key=settings.key,
                origin="config",
                created_at=now,
                updated_at=now,
                **row_fields(settings),
            )
            created += 1
        except IntegrityError:
            continue  # another process seeded it first
    return created
