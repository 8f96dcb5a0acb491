"""OBS rules in config: readable validation errors, matching, text templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from limelight.config import ConfigError, load_settings
from limelight.events import Cheer, CustomEvent, GiftBomb, StreamOnline
from limelight.obs.actions import SetInputSettings, SetSourceVisible, SwitchScene
from limelight.obs.rules import ObsRule
from limelight.obs.service import rule_action
from limelight.testing import make_tip, make_viewer


def load(obs: dict[str, Any]) -> Any:
    return load_settings(None, environ={}, overrides={"obs": obs}).obs


def error_for(obs: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        load(obs)
    return str(info.value)


BIG_TIP = {
    "on": "tip",
    "min_amount": "10.00",
    "currency": "USD",
    "action": "switch_scene",
    "scene": "Big Tip",
    "duration": 8,
}


def test_the_readable_form_loads_from_toml(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(
        "[obs]\nenabled = true\n\n[[obs.rules]]\n"
        'on = "tip"\nmin_amount = "10.00"\ncurrency = "USD"\n'
        'action = "switch_scene"\nscene = "Big Tip"\nduration = 8\n',
        encoding="utf-8",
    )
    rule = load_settings(config, environ={}).obs.rules[0]
    assert isinstance(rule, ObsRule)
    assert rule.describe() == "tip >= 10.00 USD -> switch_scene 'Big Tip' for 8 s on main"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"on": "tip", "action": "switch_scene"},
            "obs.rules.0: rule on 'tip' -> switch_scene needs scene = ...",
        ),
        ({**BIG_TIP, "currency": None}, 'min_amount needs currency = "USD"'),
        ({**BIG_TIP, "min_amount": "ten"}, "min_amount: amount 'ten' is not a number"),
        ({**BIG_TIP, "currency": "XYZ"}, "unknown currency 'XYZ'"),
        ({**BIG_TIP, "on": "tipp"}, "unknown event type 'tipp'"),
        ({**BIG_TIP, "on": "raid"}, "min_amount applies to tip, donation, merch.order and cheer"),
        (
            {**BIG_TIP, "action": "set_text", "source": "T", "text": "x"},
            "duration only applies to switch_scene, show_source, hide_source",
        ),
        (
            {"on": "tip", "action": "set_text", "source": "T", "text": "{viewer} {bits}"},
            "text uses {bits}, which tip events do not have",
        ),
        (
            {"on": "tip", "action": "set_text", "source": "T", "text": "{viewer.__class__}"},
            "{viewer.__class__} is not allowed",
        ),
        (
            {"on": "tip", "action": "restart_media", "source": "V", "scene": "S"},
            "scene is not used by restart_media",
        ),
        ({**BIG_TIP, "duration": 0}, "obs.rules.0.duration"),
        ({**BIG_TIP, "action": "explode"}, "obs.rules.0.action: Input should be 'switch_scene'"),
        ({**BIG_TIP, "sceen": "typo"}, "obs.rules.0.sceen: unknown key"),
        (
            {"on": "tip", "action": "show_source", "source": "S", "min_count": 3},
            "min_count applies to gift_bomb, raid, subscription",
        ),
    ],
)
def test_a_wrong_rule_is_reported_plainly(rule: dict[str, Any], message: str):
    text = error_for({"rules": [rule]})
    assert message in text
    assert "Value error" not in text


def test_rules_must_name_a_configured_connection_and_names_are_unique():
    text = error_for({"rules": [{**BIG_TIP, "connection": "booth"}]})
    assert "uses connection 'booth', but only 'main' is configured" in text
    obs = load(
        {
            "connections": [{"name": "booth", "password": "p4ssw0rd"}],
            "rules": [{**BIG_TIP, "connection": "booth"}],
        }
    )
    assert [c.name for c in obs.connection_settings()] == ["main", "booth"]
    text = error_for(
        {"connections": [{"name": "booth", "password": "p4ssw0rd"}, {"name": "booth"}]}
    )
    assert "the name 'booth' is used twice" in text
    assert "p4ssw0rd" not in text  # whole tables are never echoed


def test_thresholds_compare_exact_money_in_the_same_currency():
    rule = ObsRule(**BIG_TIP)
    assert rule.matches(make_tip("10.00", "USD"))
    assert rule.matches(make_tip("1000.00", "USD"))
    assert not rule.matches(make_tip("9.99", "USD"))
    assert not rule.matches(make_tip("50.00", "EUR"))  # no exchange rates guessed
    assert not rule.matches(make_tip("0.01", "USD"))


def test_cheers_compare_bits_and_counts_compare_counts():
    cheer_rule = ObsRule(
        on="cheer", min_amount="500", action="show_source", source="Fire", duration=5
    )
    assert cheer_rule.matches(Cheer(source="t", source_id="1", bits=500))
    assert not cheer_rule.matches(Cheer(source="t", source_id="2", bits=499))
    bomb_rule = ObsRule(on="gift_bomb", min_count=10, action="switch_scene", scene="Hype")
    assert bomb_rule.matches(GiftBomb(source="t", source_id="3", count=10))
    assert not bomb_rule.matches(GiftBomb(source="t", source_id="4", count=9))


def test_simulated_events_trigger_rules_unless_told_not_to():
    assert ObsRule(**BIG_TIP).matches(make_tip("20.00", test=True))
    assert not ObsRule(**BIG_TIP, test_events=False).matches(make_tip("20.00", test=True))


def test_plugin_event_types_and_stream_events_match_by_name():
    rule = ObsRule(on="merch.drop_started", action="show_source", source="Drop", duration=60)
    assert rule.matches(
        CustomEvent(
            custom_type="merch.drop_started",
            source="merch",
            source_id="d1",
            payload={"item": "Mug"},
        )
    )
    online = ObsRule(on="stream.online", action="set_text", source="Status", text="LIVE")
    assert online.matches(StreamOnline(source="obs", source_id="s1"))
    assert not online.matches(make_tip())


def test_rules_build_the_actions_they_describe():
    tip = make_tip("12.50", "USD", make_viewer("Alice"), message="gg")
    assert rule_action(ObsRule(**BIG_TIP), tip) == SwitchScene("Big Tip", duration=8)
    text = ObsRule(
        on="tip",
        action="set_text",
        source="Last",
        text="{viewer} tipped {amount} {currency}: {message}",
    )
    assert rule_action(text, tip) == SetInputSettings(
        "Last", {"text": "Alice tipped 12.50 USD: gg"}, "set text of"
    )
    hide = ObsRule(on="tip", action="hide_source", source="Cam", scene="Main", duration=3)
    assert rule_action(hide, tip) == SetSourceVisible("Cam", False, "Main", duration=3)


def test_text_templates_hide_anonymous_viewers_and_leave_missing_names_blank():
    rule = ObsRule(on="merch.sold", action="set_text", source="T", text="{viewer}: {item}{x}")
    event = CustomEvent(
        custom_type="merch.sold", source="m", source_id="1", payload={"item": "Mug"}
    )
    assert rule.render_text(event) == "Anonymous: Mug"
    anon = ObsRule(on="tip", action="set_text", source="T", text="{viewer}")
    assert anon.render_text(make_tip(anonymous=True)) == "Anonymous"
