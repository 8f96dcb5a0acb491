"""Configuration: [plugins.tips] and the [webhooks.*] tables this plugin reads."""

from __future__ import annotations

import pytest
from limelight_tips.config import TipsConfig, WebhookConfigError, load_webhooks
from pydantic import ValidationError


async def test_invalid_webhook_table_disables_the_plugin_with_the_key(limelight) -> None:
    from limelight_alerts import AlertsPlugin
    from limelight_tips import TipsPlugin

    h = await limelight(
        plugins={"tips": TipsPlugin, "alerts": AlertsPlugin},
        config={"webhooks": {"kofi": {"verification_tokn": "abcdefgh"}}},
    )
    info = h.host.info["tips"]
    assert info.status == "failed"
    assert "webhooks.kofi.verification_token: required" in info.reason
    assert "webhooks.kofi.verification_tokn: unknown key" in info.reason


async def test_without_the_alerts_plugin_tips_is_off_and_says_why(limelight) -> None:
    from limelight_tips import TipsPlugin

    h = await limelight(plugins={"tips": TipsPlugin})
    info = h.host.info["tips"]
    assert info.status == "failed"
    assert "requires plugin 'alerts', which is not installed" in info.reason


def test_webhook_errors_never_echo_secrets() -> None:
    with pytest.raises(WebhookConfigError) as err:
        load_webhooks({"generic": {"secret": "short"}, "stripe": {"secret": 12345678}})
    assert "short" not in str(err.value)
    assert "12345678" not in str(err.value)
    assert "webhooks.generic.secret" in str(err.value)


def test_absent_tables_mean_provider_off() -> None:
    assert load_webhooks({}) == {}
    assert set(load_webhooks({"stripe": {"secret": "whsec_12345678"}})) == {"stripe"}


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"base_currency": "EURO"}, "unknown currency"),
        ({"rates": {"XXY": "1"}}, "unknown currency"),
        ({"rates": {"EUR": "0"}}, "greater than zero"),
        ({"rates": {"EUR": "abc"}}, "not a number"),
        ({"bit_value": "-1"}, ">= 0"),
        ({"min_message_amount": "lots"}, "not a number"),
        ({"stripe_payment_link": "http://buy.stripe.com/x"}, "https://"),
        ({"thanks_windw": 1}, "Extra inputs"),
    ],
)
def test_tips_config_errors_are_clear(values: dict, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        TipsConfig.model_validate(values)
    assert words in str(err.value)


def test_tips_config_defaults_are_safe() -> None:
    config = TipsConfig()
    assert config.tts is False
    assert config.approval is False
    assert config.block_links is True
    assert config.base_currency == ""


def test_every_tips_and_webhook_key_is_documented_in_the_example() -> None:
    import re
    from pathlib import Path

    from limelight_tips.config import WEBHOOK_TABLES

    text = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text("utf-8")
    keys = set(re.findall(r"^#\s*([a-z_]+)\s*=", text, re.MULTILINE))
    missing = [k for k in TipsConfig.model_fields if k not in keys]
    for model in WEBHOOK_TABLES.values():
        missing += [k for k in model.model_fields if k not in keys]
    assert not missing, f"config.example.toml does not document: {missing}"
    for table in ("[plugins.tips]", "[webhooks.kofi]", "[webhooks.stripe]", "[webhooks.generic]"):
        assert table in text


def test_doctor_checks_each_webhook_table_against_its_provider(tmp_path, capsys) -> None:
    from limelight.cli import _check_webhooks
    from limelight.testing import make_settings
    from limelight.web.app import build_host

    settings = make_settings(
        tmp_path,
        {
            "webhooks": {
                "kofi": {"verification_token": "good-token-123"},
                "generic": {"secret": "short"},
                "stripe": {"secret": "whsec_12345678", "tolerence": 300},
                "patreon": {"secret": "whatever-secret-value"},
            }
        },
    )
    host = build_host(settings)
    assert _check_webhooks(settings, host) == 3
    out = capsys.readouterr().out
    assert "webhooks: ok    kofi at http://127.0.0.1" in out
    assert "webhooks: FAIL  webhooks.generic.secret: String should have at least 16" in out
    assert "webhooks: FAIL  webhooks.stripe.tolerence: unknown key" in out
    # the providers of every installed plugin are listed (the shop adds its own)
    line = next(x for x in out.splitlines() if "[webhooks.patreon]" in x)
    assert "no installed plugin provides /webhooks/patreon (providers: " in line
    assert all(name in line for name in ("generic", "kofi", "stripe"))
    for secret in ("good-token-123", "short", "whsec_12345678", "whatever-secret-value"):
        assert secret not in out
    assert _check_webhooks(make_settings(tmp_path), host) == 0
    assert "webhooks: off" in capsys.readouterr().out
