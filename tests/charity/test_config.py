"""[plugins.charity], its campaigns and [webhooks.tiltify]: validated with messages that
name the key, every key documented in config.example.toml, no secret ever echoed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from limelight_charity.config import CampaignSpec, CharityConfig, TiltifyWebhook, tiltify_problems
from pydantic import ValidationError

from .conftest import campaign

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_every_charity_key_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text("utf-8")
    keys = set(re.findall(r"^#\s*([a-z_]+)\s*=", text, re.MULTILINE))
    missing = [
        k
        for model in (CharityConfig, CampaignSpec, TiltifyWebhook)
        for k in model.model_fields
        if k not in keys
    ]
    assert not missing, f"config.example.toml does not document: {missing}"
    for table in ("[plugins.charity]", "[[plugins.charity.campaigns]]", "[webhooks.tiltify]"):
        assert table in text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"currency": "EURO"}, "unknown currency"),
        ({"currency": "BITS"}, "BITS is not a currency"),
        ({"goal": "0"}, "greater than zero"),
        ({"goal": "10.001"}, "decimal places"),
        ({"ends_at": "2020-01-01T00:00:00Z", "starts_at": "2020-02-01T00:00:00Z"}, "ends_at"),
        ({"id": "Has Spaces"}, "lower-case"),
        ({"cause_url": "javascript:alert(1)"}, "http(s)"),
        ({"rates": {"XYZ": "1"}}, "unknown currency"),
        ({"rates": {"USD": "0"}}, "greater than zero"),
        ({"milestones": [{"at": 5, "label": "a"}, {"at": 5, "label": "b"}]}, "same 'at'"),
        ({"milestones": [{"at": 5, "actions": [{"do": "dance"}]}]}, "do"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_campaigns_are_refused_with_the_key_named(change: dict, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        CampaignSpec.model_validate(campaign(**change))
    assert words in str(err.value)


def test_two_campaigns_with_one_id_are_refused() -> None:
    with pytest.raises(ValidationError, match="used twice"):
        CharityConfig.model_validate({"campaigns": [campaign(), campaign()]})


def test_a_valid_campaign_is_normalised() -> None:
    spec = CampaignSpec.model_validate(campaign(goal="1000", currency="eur"))
    assert (spec.goal, spec.currency) == ("1000.00", "EUR")
    assert spec.milestones[0].at == 10000


def test_tiltify_table_problems_never_echo_the_secret() -> None:
    assert tiltify_problems({"secret": "s3cr3t-signing-key"}) == []
    problems = tiltify_problems({"secret": "s3cr3t-signing-key", "tolerence": 5})
    assert problems and "tolerence" in problems[0]
    assert all("s3cr3t" not in p for p in problems)
    assert tiltify_problems({}) != []


async def test_the_webhook_without_its_table_says_how_to_set_it_up(charity) -> None:
    c = await charity()
    c.plugin.tiltify_table = None  # as when [webhooks.tiltify] is not in the config
    status, body = await c.post(b"{}", {"Content-Type": "application/json"})
    assert status == 404
    assert "[webhooks.tiltify]" in str(body)
