"""The test kit's in-memory chat connector is there from the start: what a plugin says in
its ``startup``, and what it says about an event the bus replays as the server starts
(committed before a crash, never handled), is in ``h.said`` — not dropped for want of a
connector."""

from __future__ import annotations

from limelight import ChatConnectorSpec, Event, NoConfig, Plugin, Register, Tip, hookimpl
from limelight.chat import LocalConnector
from limelight.testing import HookPlugin, make_tip
from limelight.testing.pytest_plugin import StartHarness


class Greeter(Plugin[NoConfig]):
    """Says it is online as it starts, and thanks every tip."""

    @hookimpl
    async def startup(self) -> None:
        await self.ctx.chat.say("bot online")

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if isinstance(event, Tip) and event.viewer is not None:
            await self.ctx.chat.say(f"thanks {event.viewer.name}")


async def test_a_line_said_at_startup_is_in_said(limelight: StartHarness) -> None:
    h = await limelight(plugins={"greeter": Greeter})
    await h.settle()
    assert [m.text for m in h.said] == ["bot online"]
    assert h.said[0].connector == "test"


async def test_a_line_said_about_a_replayed_event_is_in_said(limelight: StartHarness) -> None:
    async def crash(event: Event) -> None:
        raise RuntimeError("the process dies before the tip is handled")

    # First life: the tip is committed, but a plugin fails on it, so it stays unhandled.
    first = await limelight(plugins={"crash": HookPlugin(on_event=crash)})
    await first.publish(make_tip("5.00", viewer="bob"))
    assert first.said == []
    await first.close()

    # Second life on the same database: the bus replays the tip as the server starts.
    second = await limelight(plugins={"greeter": Greeter})
    await second.settle()
    assert sorted(m.text for m in second.said) == ["bot online", "thanks bob"]


class Speaker(Plugin[NoConfig]):
    """A plugin's own chat connector (as Twitch registers one), plus thanks for tips."""

    def __init__(self) -> None:
        super().__init__()
        self.connector = LocalConnector("speaker", platform="speaker", channel="main")

    @hookimpl
    def register_chat_connectors(self, register: Register[ChatConnectorSpec]) -> None:
        register(ChatConnectorSpec("speaker", self.make_connector))

    def make_connector(self) -> LocalConnector:
        return self.connector

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if isinstance(event, Tip) and event.viewer is not None:
            await self.ctx.chat.say(f"thanks {event.viewer.name}", platform="speaker")


async def test_a_plugin_connector_runs_before_the_startup_replay(limelight: StartHarness) -> None:
    # Not the kit's connector: a plugin's own, started by the server like Twitch is.
    async def crash(event: Event) -> None:
        raise RuntimeError("the process dies before the tip is handled")

    first = await limelight(plugins={"crash": HookPlugin(on_event=crash)})
    await first.publish(make_tip("5.00", viewer="bob"))
    await first.close()

    speaker = Speaker()
    second = await limelight(plugins={"speaker": speaker})
    await second.settle()
    said = [m for m in second.said if m.connector == "speaker"]
    assert [m.text for m in said] == ["thanks bob"]
