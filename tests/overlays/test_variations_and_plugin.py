"""Alert variations (tiers in minor units, counts, fallbacks, one book per overlay), the
built-in alerts plugin, and what the chat overlay receives from the bus (gating, badges,
deletions)."""

from __future__ import annotations

from typing import Any

import pytest
from limelight import (
    AlertKind,
    Badge,
    ChatDeleted,
    Cheer,
    Donation,
    GiftBomb,
    MembershipChanged,
    MerchOrder,
    Money,
    NoConfig,
    Overlay,
    Plugin,
    Raid,
    Subscription,
    Verdict,
    hookimpl,
)
from limelight.config import AlertSettings, ConfigError, load_settings
from limelight.overlays.variations import VariationBook
from limelight.testing import HookPlugin, make_chat, make_tip, make_viewer
from limelight_alerts import ALERT_KINDS, AlertsPlugin

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


#: The built-in texts the alerts plugin declares for its ``alerts`` overlay.
TEXTS = {k.kind: k.text for k in ALERT_KINDS}


def book() -> VariationBook:
    return VariationBook(AlertSettings.model_validate(TIERS), TEXTS, "alerts")


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
    plain = VariationBook(AlertSettings(), TEXTS)
    assert plain.pick("raid").text == "{name} is raiding with {viewers} viewers!"
    assert plain.pick("something.custom").text == "{name}"
    assert plain.pick("tip").duration_ms == 6000
    # The core knows no kind's text: without the declared texts every kind is generic.
    assert VariationBook(AlertSettings()).pick("raid").text == "{name}"


def test_variation_fields_come_from_config() -> None:
    big = book().pick("tip", Money(2500, "USD"))
    assert (big.duration_ms, big.sound, big.image) == (9000, "/media/big.ogg", "")
    assert book().pick("tip", Money(100, "USD")).duration_ms == 5000
    wire = big.to_wire({"name": "Ann", "amount": "$25.00"})
    assert wire["text"] == "BIG Ann $25.00"


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


async def test_service_variation_uses_config(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin}, config={"overlays": {"alerts": TIERS}})
    overlays = h.services.overlays
    assert overlays.variation("tip", Money(2000, "USD"), overlay="alerts").name == "big"
    alert_id = await overlays.alert(
        "alerts", kind="tip", data={"name": "Ann", "amount": "150.00", "currency": "USD"}
    )
    alert = await overlays.outbox.get(alert_id)
    assert alert.variation["text"] == "HUGE" and alert.duration_ms == 5000
    chosen = overlays.variation("tip", Money(2000, "USD"), overlay="alerts")
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
    h = await limelight(plugins={"alerts": AlertsPlugin})
    assert {o.name for o in h.services.overlays.specs()} == {
        "alerts",
        "chat",
        "leaderboard",
        "goal",
        "ticker",
    }


async def test_plugin_alerts_for_platform_events(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin})
    ws, _, _ = await connect(h)
    for event, text in events():
        await h.publish(event)
        message = await receive(ws)
        assert message["kind"] == event.type
        assert message["variation"]["text"] == text
        assert message["id"] > 0
    await ws.close()


async def test_a_gift_for_chat_is_alerted_as_a_gift(limelight) -> None:
    """Merch bought as gifts for chat is a kind of alert of its own (``merch.gift``): its
    built-in text says so and it shows the gift box; its tiers are its own, so a
    ``merch.order`` tier never dresses a gift and a ``merch.gift`` tier never an order."""
    h = await limelight(
        plugins={"alerts": AlertsPlugin},
        config={
            "overlays": {
                "alerts": {
                    "variations": [
                        {"event": "merch.order", "name": "five", "min_count": 5},
                        {"event": "merch.order", "name": "orders", "min_count": 10, "text": "BAG"},
                        {
                            "event": "merch.gift",
                            "name": "ten",
                            "min_count": 10,
                            "text": "WOW {quantity}",
                            "image": "none",
                        },
                    ]
                }
            }
        },
    )

    def gift(n: int, quantity: int, viewer: Any = bob, gift: bool = True) -> MerchOrder:
        return MerchOrder(
            source="t",
            source_id=f"gift-{n}",
            viewer=viewer,
            item="Hoodie",
            amount=Money(2500 * quantity, "USD"),
            quantity=quantity,
            provider="fourthwall",
            gift=gift,
        )

    ws, _, _ = await connect(h)
    for event, tier, text in [
        (gift(1, 3), "default", "Bob gifted 3\u00d7 Hoodie to chat!"),
        (gift(2, 5), "default", "Bob gifted 5\u00d7 Hoodie to chat!"),  # not an order's tier
        (gift(3, 10), "ten", "WOW 10"),  # the streamer's own gift tier
        (gift(4, 10, gift=False), "orders", "BAG"),  # ... which no order reaches
        (gift(5, 5, gift=False), "five", "Bob bought Hoodie!"),
        (
            gift(6, 2, make_viewer("<b>{amount}</b>")),
            "default",
            "<b>{amount}</b> gifted 2\u00d7 Hoodie to chat!",  # text, never expanded
        ),
        (
            MerchOrder(source="t", source_id="m9", viewer=bob, item="Cap", amount=Money(1, "USD")),
            "default",
            "Bob bought Cap!",
        ),
        (  # the product's name as the buyer saw it, where the provider gave one
            MerchOrder(
                source="t",
                source_id="m10",
                viewer=bob,
                item="night-owl-cap",
                item_name="Night owl cap",
                amount=Money(1, "USD"),
            ),
            "default",
            "Bob bought Night owl cap!",
        ),
    ]:
        await h.publish(event)
        message = await receive(ws)
        assert message["kind"] == ("merch.gift" if event.gift else "merch.order")
        assert (message["variation"]["name"], message["variation"]["text"]) == (tier, text)
        assert message["data"]["gift"] is event.gift
        art = "" if tier == "ten" else "gift_bomb" if event.gift else "merch.order"
        assert message["variation"]["image"] == (
            f"/-/static-plugins/alerts/art/{art}.svg" if art else ""
        )
    await ws.close()


async def test_plugin_leaves_tips_and_expiries_alone(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin})
    await h.publish(make_tip("5.00"))
    await h.publish(
        MembershipChanged(source="t", source_id="v2", viewer=bob, level="VIP", status="expired")
    )
    await h.publish(Cheer(source="t", source_id="c0", viewer=bob, bits=0))
    assert await h.services.overlays.pending("alerts") == 0


async def test_gift_bomb_gets_one_alert_not_one_per_gift(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin})
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
    h = await limelight(plugins={"alerts": AlertsPlugin})
    await h.publish(Raid(source="t", source_id="rt", viewer=bob, viewers=3, test=True))
    history = await h.services.overlays.history("alerts")
    assert [a["test"] for a in history] == [True] and history[0]["id"] < 0


async def test_plugin_config_selects_events(limelight) -> None:
    h = await limelight(
        plugins={"alerts": AlertsPlugin},
        config={"plugins": {"alerts": {"events": ["raid"], "show_messages": False}}},
    )
    await h.publish(Cheer(source="t", source_id="c9", viewer=bob, bits=5, message="x"))
    await h.publish(Raid(source="t", source_id="r9", viewer=bob, viewers=1))
    assert [a["kind"] for a in await h.services.overlays.history("alerts")] == ["raid"]


async def test_the_same_event_delivered_twice_alerts_once(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin})
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


async def test_amounts_read_as_the_one_money_formatter_has_them(limelight) -> None:
    """Donations and merch carry ``display_amount`` (the streamer's locale), and ``{amount}``
    in the alert text is that, never the raw wire number."""
    h = await limelight(plugins={"alerts": AlertsPlugin})
    ws, _, _ = await connect(h)
    await h.publish(Donation(source="t", source_id="d250", viewer=bob, amount=Money(25000, "USD")))
    message = await receive(ws)
    assert message["data"]["display_amount"] == "$250.00"
    assert message["data"]["amount"] == "250.00"  # the wire decimal tiers compare
    assert message["variation"]["text"] == "Bob donated $250.00!"
    await h.publish(
        MerchOrder(source="t", source_id="m2", viewer=bob, item="Cap", amount=Money(1999, "EUR"))
    )
    assert (await receive(ws))["data"]["display_amount"] == "€19.99"
    await ws.close()


async def test_alert_amounts_follow_the_server_locale(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin}, config={"server": {"locale": "de_DE"}})
    await h.publish(Donation(source="t", source_id="dd", viewer=bob, amount=Money(1000, "EUR")))
    [alert] = await h.services.overlays.history("alerts")
    assert alert["data"]["display_amount"] == "10,00\xa0€"
    assert alert["variation"]["text"] == "Bob donated 10,00\xa0€!"


async def test_a_name_with_placeholders_is_never_expanded(limelight) -> None:
    h = await limelight(plugins={"alerts": AlertsPlugin})
    sly = make_viewer("{amount} {message}")
    await h.publish(
        Donation(source="t", source_id="sly", viewer=sly, amount=Money(500, "USD"), message="hi")
    )
    [alert] = await h.services.overlays.history("alerts")
    assert alert["variation"]["text"] == "{amount} {message} donated $5.00!"


class Wall(Plugin[NoConfig]):
    """A third-party overlay that plays alerts of its own kinds."""

    @hookimpl
    def register_overlays(self, register):
        register(
            Overlay(
                "wall",
                "wall/page.html",
                alerts=(AlertKind("shoutout", "Go follow {name}!", {"name": "Sample"}),),
            )
        )


async def test_any_overlay_gets_its_own_variations_and_test_alerts(limelight) -> None:
    """The core knows no overlay by name: ``[overlays.wall]`` styles the ``wall`` overlay a
    plugin registered, the built-in text comes from its declared kinds, and the test alert
    API uses its first kind and sample."""
    h = await limelight(
        plugins={"alerts": AlertsPlugin, "wall": Wall()},
        config={
            "overlays": {
                "wall": {
                    "duration_ms": 3000,
                    "variations": [{"event": "shoutout", "min_count": 10, "text": "BIG {name}"}],
                },
                "alerts": {"variations": [{"event": "shoutout", "text": "not the wall's"}]},
            }
        },
    )
    overlays = h.services.overlays
    assert overlays.variation("shoutout", overlay="wall").text == "Go follow {name}!"
    assert overlays.variation("shoutout", overlay="wall", count=12).text == "BIG {name}"
    assert overlays.variation("shoutout", overlay="alerts").text == "not the wall's"
    assert overlays.variation("raid", overlay="wall").text == "{name}"
    status, body = await _post(h, "/api/overlays/wall/test")
    assert status == 201
    [alert] = await overlays.history("wall")
    assert alert["kind"] == "shoutout" and alert["variation"]["text"] == "Go follow Sample!"
    assert alert["duration_ms"] == 3000
    status, body = await _post(h, "/api/overlays/-/kinds", method="GET")
    assert body["kinds"]["wall"] == ["shoutout"]
    assert body["kinds"]["alerts"][0] == "tip" and "chat" not in body["kinds"]
    # An overlay that declares no kinds plays no test alert unless asked for one by kind.
    assert (await _post(h, "/api/overlays/chat/test"))[0] == 400
    assert (await _post(h, "/api/overlays/chat/test", {"kind": "raid"}))[0] == 201


async def _post(h: Any, path: str, body: Any = None, method: str = "POST") -> tuple[int, Any]:
    response = await h.client.request(method, path, headers=h.admin_headers, json=body)
    return response.status, await response.json()


# -- chat overlay -----------------------------------------------------------------------------


def hide_spoilers(message):
    if "spoiler" in message.text:
        return Verdict.hide("spoiler")
    return None


def vip_badge(register):
    register(Badge("vip", "VIP", "💎"))


async def test_chat_overlay_shows_allowed_lines_with_badges(limelight) -> None:
    gate = HookPlugin(check_chat_message=hide_spoilers, register_badges=vip_badge)
    h = await limelight(plugins={"alerts": AlertsPlugin, "gate": gate})
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
    h = await limelight(plugins={"alerts": AlertsPlugin})
    ws, _, _ = await connect(h, "chat")
    await h.publish(make_chat("hi", bob, color="red;background:url(//x)"))
    assert (await receive(ws))["data"]["color"] == ""
    await ws.close()
