"""``GET /api/milestones/choices``: what the milestone and reward action editors suggest
(OBS's scenes and sources, overlays that play alerts with their kinds and looks, badges,
VIP tiers, locked commands), admin only."""

from __future__ import annotations

from typing import Any

from limelight_alerts import AlertsPlugin
from limelight_challenges import ChallengesPlugin
from limelight_vip import VipPlugin

CONFIG: dict[str, Any] = {
    "chat": {"commands": {"spicy": {"text": "SPICY", "locked": True}, "hello": "Hi!"}},
    "overlays": {"alerts": {"variations": [{"event": "tip", "name": "golden", "text": "{name}!"}]}},
    "plugins": {
        "vip": {"tiers": [{"name": "gold", "label": "Gold"}, {"name": "silver", "label": "Silver"}]}
    },
}


async def test_the_choices_name_what_a_milestone_can_act_on(limelight: Any) -> None:
    h = await limelight(
        {"alerts": AlertsPlugin, "vip": VipPlugin, "challenges": ChallengesPlugin}, config=CONFIG
    )
    refused = await h.client.get("/api/milestones/choices")
    assert refused.status == 401
    response = await h.client.get("/api/milestones/choices", headers=h.admin_headers)
    assert response.status == 200, await response.text()
    body = await response.json()
    # No OBS configured: said so, nothing listed.
    assert body["obs"] == {"connected": False, "scenes": [], "sources": [], "text_sources": []}
    assert "challenger" in {b["name"] for b in body["badges"]}
    assert {(t["name"], t["label"]) for t in body["tiers"]} >= {
        ("gold", "Gold"),
        ("silver", "Silver"),
    }
    assert body["commands"] == ["spicy"]  # the locked one only: only it can be unlocked
    alerts = body["alerts"]
    assert "tip" in alerts["alerts"]["kinds"]
    assert "golden" in alerts["alerts"]["looks"]
    assert "default" not in alerts["alerts"]["looks"]


async def test_without_the_vip_plugin_there_are_no_tiers(limelight: Any) -> None:
    h = await limelight({"challenges": ChallengesPlugin}, config={})
    body = await (await h.client.get("/api/milestones/choices", headers=h.admin_headers)).json()
    assert body["tiers"] == [] and body["commands"] == []
