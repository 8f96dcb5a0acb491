"""Alert variations (tiers in minor units, counts, fallbacks), the built-in alerts plugin,
and what the chat overlay receives from the bus (gating, badges, deletions)."""

from __future__ import annotations

from typing import Any

import limelight
import limelight_alerts
import pytest
from limelight import (
    Badge,
    ChatDeleted,
    Cheer,
    Donation,
    GiftBomb,
    MembershipChanged,
    MerchOrder,
    Money,
    Raid,
    Subscription,
    Verdict,
)
from limelight.config import AlertSettings, ConfigError, load_settings
from limelight.overlays import format_money
from limelight.overlays.variations import VariationBook, fill
from limelight.testing import make_chat, make_tip, make_viewer

from .test_delivery import connect, receive

TIERS = {
    "duration_ms": 5000,
    "variations": [
        {"event": "tip", "text": "{name} tipped {amount}", "image": "/-/theme/img/tip.svg"},
        {
            "event": "tip",
            "name": "big",
            "min_amount": "20.00",
            "currency": "USD",
            "text": "BIG {name} {amount}",
            "duration_ms": 9000,
            "sound": "/media/big.ogg",
        },
        {"event": "tip", "name": "huge", "min_amount": "100.00", "currency": "USD", "text": "HUGE"},
        {
            "event": "tip",
            "name": "big-eur",
            "min_amount": "15.00",
            "currency": "EUR",
            "text": "BIG EUR",
        },
        {"event": "gift_bomb", "name": "bomb", "min_count": 10, "text": "BOMB {count}"},
        {"event": "*", "name": "fallback", "text": "Thanks {name}!"},
    ],
}


def book() -> VariationBook:
    return VariationBook(AlertSettings.model_validate(TIERS))


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Money(500, "USD"), "tip#0"),
        (Money(1999, "USD"), "tip#0"),
        (Money(2000, "USD"), "big"),
        (Money(9999, "USD"), "big"),
        (Money(10000, "USD"), "huge"),
        (Money(1500, "EUR"), "big-eur"),
        (Money(1499, "EUR"), "tip#0"),
        (Money(100000, "JPY"), "tip#0"),  # no JPY tier: never converted
        (None, "tip#0"),
    ],
)
def test_tip_tiers_compare_minor_units_of_the_same_currency(amount, expected) -> None:
    assert book().pick("tip", amount).name == expected


def test_count_tiers_star_fallback_and_builtin_defaults() -> None:
    b = book()
    assert b.pick("gift_bomb", count=10).name == "bomb"
    assert b.pick("gift_bomb", count=9).name == "fallback"
    assert b.pick("gift_bomb", count=9).event == "gift_bomb"
    assert b.pick("raid").text == "Thanks {name}!"
    plain = VariationBook(AlertSettings())
    assert plain.pick("raid").text == "{name} is raiding with {viewers} viewers!"
    assert plain.pick("something.custom").text == "{name}"
    assert plain.pick("tip").duration_ms == 6000


def test_variation_fields_come_from_config() -> None:
    big = book().pick("tip", Money(2500, "USD"))
    assert (big.duration_ms, big.sound, big.image) == (9000, "/media/big.ogg", "")
    assert book().pick("tip", Money(100, "USD")).duration_ms == 5000
    wire = big.to_wire({"name": "Ann", "amount": "$25.00"})
    assert wire["text"] == "BIG Ann $25.00"


def test_fill_substitutes_plain_names_only() -> None:
    values = {"name": "Ann", "obj": object()}
    assert fill("{name} {missing}!", values) == "Ann !"
    assert fill("{name.__class__} {obj} {0} {name!r}", values).startswith("{name.__class__}")
    assert fill("{{name}}", values) == "{Ann}"


def test_config_rejects_a_tier_without_a_valid_currency() -> None:
    with pytest.raises(ConfigError, match="min_amount"):
        load_settings(
            None,
            environ={},
            overrides={
                "overlays": {"alerts": {"variations": [{"event": "tip", "min_amount": "5.00"}]}}
            },
        )
    with pytest.raises(ConfigError, match="more than 2 decimal"):
        load_settings(
            None,
            environ={},
            overrides={
                "overlays": {
                    "alerts": {
                        "variations": [{"event": "tip", "min_amount": "5.001", "currency": "USD"}]
                    }
                }
            },
        )


def test_format_money() -> None:
    assert format_money(Money(500, "USD")) == "$5.00"
    assert format_money(Money(1250, "CHF")) == "12.50 CHF"
    assert format_money(Money(100, "BITS")) == "100 bits"
    assert format_money(Money(500, "JPY")) == "¥500"


async def test_service_variation_uses_config(limelight) -> None:
    h = await limelight(config={"overlays": {"alerts": TIERS}})
    overlays = h.services.overlays
    assert overlays.variation("tip", Money(2000, "USD")).name == "big"
    alert_id = await overlays.alert(
        "alerts", kind="tip", data={"name": "Ann", "amount": "150.00", "currency": "USD"}
    )
    alert = await overlays.outbox.get(alert_id)
    assert alert.variation["text"] == "HUGE" and alert.duration_ms == 5000
    chosen = overlays.variation("tip", Money(2000, "USD"))
    alert_id = await overlays.alert(
        "alerts",
        kind="tip",
        data={"amount": "1.00", "currency": "USD"},
        variation=chosen,
        event=make_tip("1.00", viewer="Zed"),
    )
    alert = await overlays.outbox.get(alert_id)
    assert alert.variation["text"] == "BIG Zed $1.00" and alert.duration_ms == 9000


# -- the alerts plugin ------------------------------------------------------------------------

bob = make_viewer("Bob")


def events() -> list[tuple[Any, str]]:
    return [
        (
            Cheer(source="t", source_id="c1", viewer=bob, bits=250, message="go"),
            "Bob cheered 250 bits!",
        ),
        (Subscription(source="t", source_id="s1", viewer=bob, months=4), "Bob subscribed!"),
        (GiftBomb(source="t", source_id="g1", viewer=bob, count=5), "Bob gifted 5 subs!"),
        (
            Raid(source="t", source_id="r1", viewer=bob, viewers=77),
            "Bob is raiding with 77 viewers!",
        ),
        (
            Donation(
                source="t", source_id="d1", viewer=bob, amount=Money(1000, "EUR"), anonymous=True
            ),
            "Anonymous donated €10.00!",
        ),
        (
            MerchOrder(
                source="t", source_id="m1", viewer=bob, item="Hoodie", amount=Money(4500, "USD")
            ),
            "Bob bought Hoodie!",
        ),
        (
            MembershipChanged(
                source="t", source_id="v1", viewer=bob, level="VIP", status="granted"
            ),
            "Bob is now VIP!",
        ),
    ]


async def test_plugin_registers_the_default_overlays(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts})
    assert {o.name for o in h.services.overlays.specs()} == {
        "alerts",
        "chat",
        "leaderboard",
        "goal",
        "ticker",
    }


async def test_plugin_alerts_for_platform_events(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts})
    ws, _, _ = await connect(h)
    for event, text in events():
        await h.publish(event)
        message = await receive(ws)
        assert message["kind"] == event.type
        assert message["variation"]["text"] == text
        assert message["id"] > 0
    await ws.close()


async def test_plugin_leaves_tips_and_expiries_alone(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts})
    await h.publish(make_tip("5.00"))
    await h.publish(
        MembershipChanged(source="t", source_id="v2", viewer=bob, level="VIP", status="expired")
    )
    await h.publish(Cheer(source="t", source_id="c0", viewer=bob, bits=0))
    assert await h.services.overlays.pending("alerts") == 0


async def test_gift_bomb_gets_one_alert_not_one_per_gift(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts})
    await h.publish(GiftBomb(source="t", source_id="gb", viewer=bob, count=3))
    for i in range(3):
        await h.publish(
            Subscription(
                source="t",
                source_id=f"gift{i}",
                viewer=make_viewer(f"r{i}"),
                gifted=True,
                gifter=bob,
            )
        )
    await h.publish(
        Subscription(
            source="t", source_id="gift-later", viewer=make_viewer("solo"), gifted=True, gifter=bob
        )
    )
    history = await h.services.overlays.history("alerts")
    kinds = sorted(a["kind"] for a in history)
    assert kinds == ["gift_bomb", "subscription"]
    single = next(a for a in history if a["kind"] == "subscription")
    assert single["data"]["gifter"] == "Bob" and single["data"]["name"] == "solo"


async def test_plugin_test_events_make_test_alerts(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts})
    await h.publish(Raid(source="t", source_id="rt", viewer=bob, viewers=3, test=True))
    history = await h.services.overlays.history("alerts")
    assert [a["test"] for a in history] == [True] and history[0]["id"] < 0


async def test_plugin_config_selects_events(limelight) -> None:
    h = await limelight(
        plugins={"alerts": limelight_alerts},
        config={"plugins": {"alerts": {"events": ["raid"], "show_messages": False}}},
    )
    await h.publish(Cheer(source="t", source_id="c9", viewer=bob, bits=5, message="x"))
    await h.publish(Raid(source="t", source_id="r9", viewer=bob, viewers=1))
    assert [a["kind"] for a in await h.services.overlays.history("alerts")] == ["raid"]


async def test_the_same_event_delivered_twice_alerts_once(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts})
    for _ in range(3):
        await h.post_event(
            {
                "type": "raid",
                "source": "twitch",
                "source_id": "raid-42",
                "viewer": {"platform": "twitch", "id": "1", "name": "R"},
                "data": {"viewers": 5},
            }
        )
    assert len(await h.services.overlays.history("alerts")) == 1


# -- chat overlay -----------------------------------------------------------------------------


class Gate:
    @limelight.hookimpl
    def check_chat_message(self, message):
        if "spoiler" in message.text:
            return Verdict.hide("spoiler")
        return None

    @limelight.hookimpl
    def register_badges(self, register):
        register(Badge("vip", "VIP", "💎"))


async def test_chat_overlay_shows_allowed_lines_with_badges(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts, "gate": Gate()})
    h.services.badges.award(bob, "vip")
    ws, _, _ = await connect(h, "chat")
    await h.publish(make_chat("the spoiler is...", bob))
    line = make_chat("hello <b>chat</b>", bob, color="#ff0000")
    await h.publish(line)
    message = await receive(ws)
    assert message["type"] == "live" and message["kind"] == "chat.message"
    data = message["data"]
    assert data["text"] == "hello <b>chat</b>" and data["name"] == "Bob"
    assert data["id"] == line.source_id and data["color"] == "#ff0000"
    assert data["badges"] == [{"name": "vip", "label": "VIP", "icon": "💎"}]
    await h.publish(ChatDeleted(source="test", source_id="del-1", message_id=line.source_id))
    deleted = await receive(ws)
    assert deleted["kind"] == "chat.deleted"
    assert deleted["data"]["message_id"] == line.source_id
    await ws.close()


async def test_chat_line_with_a_bad_colour_gets_none(limelight) -> None:
    h = await limelight(plugins={"alerts": limelight_alerts})
    ws, _, _ = await connect(h, "chat")
    await h.publish(make_chat("hi", bob, color="red;background:url(//x)"))
    assert (await receive(ws))["data"]["color"] == ""
    await ws.close()
