"""VIP memberships (work in progress on a branch: tiers, badges, emotes, members-only chat).

Only :mod:`limelight_vip.api` exists on ``main`` so far: the typed API other plugins code
against. No entry point names this package yet, so nothing loads it.
"""
