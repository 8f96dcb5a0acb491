"""Registration rules that are the same for every kind of thing a plugin registers."""

from __future__ import annotations

from limelight import Job, Plugin, Register, hookimpl


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
