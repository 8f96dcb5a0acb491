"""Registration rules that are the same for every kind of thing a plugin registers."""

from __future__ import annotations

import pytest
from limelight import Job, Plugin, Register, WebhookProvider, hookimpl
from limelight.registry import RegistrationError


async def _noop() -> None:
    return None


class Pruner(Plugin):
    """Registers a job named ``prune`` (``twice`` registers it a second time)."""

    def __init__(self, twice: bool = False) -> None:
        super().__init__()
        self.twice = twice

    @hookimpl
    def register_jobs(self, register: Register[Job]) -> None:
        register(Job("prune", _noop, "interval", {"hours": 1}))
        if self.twice:
            register(Job("prune", _noop, "interval", {"hours": 2}))


async def test_job_ids_are_per_plugin_so_two_plugins_may_share_one(limelight) -> None:
    h = await limelight(plugins={"a": Pruner(), "b": Pruner()})
    assert h.host.info["a"].status == "enabled"
    assert h.host.info["b"].status == "enabled"
    ids = {job["id"] for job in h.services.scheduler.jobs()}
    assert {"a:prune", "b:prune"} <= ids


async def test_one_plugin_registering_a_job_id_twice_is_disabled(limelight) -> None:
    h = await limelight(plugins={"a": Pruner(twice=True), "b": Pruner()})
    info = h.host.info["a"]
    assert info.status == "failed"
    assert "'a:prune'" in info.reason
    assert h.host.info["b"].status == "enabled"


async def _no_events(request: object, body: bytes) -> list:  # type: ignore[type-arg]
    return []


@pytest.mark.parametrize("name", ["acme_pay", "AcmePay", "acme pay", "-acme", "acme-", ""])
def test_a_webhook_provider_name_an_environment_variable_cannot_reach_is_refused(name) -> None:
    """``LIMELIGHT_WEBHOOKS__ACME_PAY__SECRET`` sets ``[webhooks.acme-pay]``: a provider
    named ``acme_pay`` could never get its secret from the environment."""
    with pytest.raises(RegistrationError, match="lowercase letters and digits"):
        WebhookProvider(name, _no_events)


def test_webhook_provider_names_of_words_and_hyphens_are_taken() -> None:
    assert WebhookProvider("acme-pay2", _no_events).key == "acme-pay2"
