"""The command framework through the full pipeline (bus, gating, routing, send queue)."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Literal

import pytest
from limelight import NoConfig, Plugin, Verdict, command, example, hookimpl
from limelight.chat import ManualClock
from limelight.commands import Mention, UsageError, has_role, parse_arguments
from limelight.testing import HookPlugin, run_examples


class Shop(Plugin[NoConfig]):
    """A plugin with a handful of commands exercising every argument kind."""

    @command("give", aliases=("gift",), role="moderator")
    @example("!give @bob 5", "Gave bob 5 points.", roles={"moderator"})
    async def give(self, call, who: Mention, points: int) -> str:
        "Gives points to a viewer."
        return f"Gave {who} {points} points."

    @command("pick")
    @example("!pick red", "You picked red.")
    async def pick(self, call, colour: Literal["red", "green"]) -> str:
        "Picks a colour."
        return f"You picked {colour}."

    @command("sum")
    @example("!sum 1 2 3", "6")
    def total(self, call, *numbers: int) -> str:
        "Adds whole numbers."
        return str(sum(numbers))

    @command("shout", user_cooldown=30)
    @example("!shout hello there", "HELLO THERE")
    async def shout(self, call, *, text: str) -> str:
        "Shouts the text back."
        return text.upper()

    @command("price", cooldown=10)
    async def price(self, call, amount: Decimal, currency: str = "USD") -> str:
        "Shows a price."
        return f"{amount} {currency}"

    @command("vipcheck", role="vip")
    async def vipcheck(self, call) -> str:
        "VIPs only."
        return f"hello {call.viewer.name}, roles={','.join(sorted(call.roles))}"

    @command("boom")
    async def boom(self, call) -> str:
        "Always fails."
        raise RuntimeError("secret internal detail")

    @command("strict")
    async def strict(self, call, n: int) -> str:
        "Rejects big numbers."
        if n > 10:
            raise UsageError("n must be at most 10")
        return f"ok {n}"

    @command("quiet", hidden=True)
    async def quiet(self, call) -> None:
        "Replies itself, returns nothing."
        await call.reply("done quietly", priority="low")

    @command("whoami")
    async def whoami(self, call) -> str:
        "Names the plugin context."
        return self.ctx.name

    @hookimpl
    def register_commands(self, register):
        for cmd in (
            self.give,
            self.pick,
            self.total,
            self.shout,
            self.price,
            self.vipcheck,
            self.boom,
            self.strict,
            self.quiet,
            self.whoami,
        ):
            register(cmd)


async def reply(h, text, user="alice", roles=None):
    before = h.services.chat.sent_count
    await h.chat_as(user, text, roles=roles or set())
    new = h.services.chat.sent_since(before)
    return new[-1].text if new else None


async def test_arguments_are_parsed_by_type(limelight):
    h = await limelight(plugins={"shop": Shop()})
    assert await reply(h, "!gift @Bob 7", roles={"moderator"}) == "Gave Bob 7 points."
    assert await reply(h, "!pick GREEN") == "You picked green."
    assert await reply(h, "!sum 4 5") == "9"
    assert await reply(h, "!sum") == "0"
    assert await reply(h, "!shout  mixed   Case  ") == "MIXED CASE"  # chat collapses runs of spaces
    assert await reply(h, "!price 2.50 EUR") == "2.50 EUR"
    assert await reply(h, "!whoami") == "shop"


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("!give bob lots", "Usage: !give <who> <points> (points must be a whole number)"),
        ("!give bob", "Usage: !give <who> <points> (points is missing)"),
        ("!pick blue", "Usage: !pick <red|green> (colour must be one of red, green)"),
        ("!sum 1 x", "Usage: !sum [numbers...] (numbers must be a whole number)"),
        ("!shout", "Usage: !shout <text...> (text is missing)"),
        ("!price nan", "Usage: !price <amount> [currency] (amount must be a number)"),
        ("!pick red extra", "Usage: !pick <red|green> (too many arguments)"),
        ("!strict 11", "Usage: !strict <n> (n must be at most 10)"),
    ],
)
async def test_mistakes_answer_with_the_usage(limelight, line, answer):
    h = await limelight(plugins={"shop": Shop()})
    assert await reply(h, line, roles={"moderator"}) == answer


async def test_roles_mean_the_same_everywhere(limelight):
    h = await limelight(plugins={"shop": Shop()})
    assert await reply(h, "!vipcheck") == "!vipcheck is for VIPs only."
    assert await reply(h, "!vipcheck", roles={"subscriber"}) == "!vipcheck is for VIPs only."
    assert (await reply(h, "!vipcheck", roles={"vip"})).startswith("hello alice")
    assert (await reply(h, "!vipcheck", roles={"moderator"})).startswith("hello alice")
    assert (await reply(h, "!vipcheck", roles={"broadcaster"})).startswith("hello alice")
    assert has_role({"broadcaster"}, "moderator") and not has_role({"vip"}, "moderator")


async def test_cooldowns_per_viewer_and_global(limelight):
    h = await limelight(plugins={"shop": Shop()})
    clock = ManualClock()
    h.services.chat.set_clock(clock)
    assert await reply(h, "!shout a") == "A"
    assert await reply(h, "!shout b") is None  # alice waits 30 s
    assert await reply(h, "!shout c", user="bob") == "C"  # bob has his own cooldown
    clock.advance(30)
    assert await reply(h, "!shout d") == "D"
    assert await reply(h, "!price 1") == "1 USD"
    assert await reply(h, "!price 2", user="bob") is None  # global 10 s
    assert await reply(h, "!price 3", user="mod", roles={"moderator"}) == "3 USD"
    clock.advance(10)
    assert await reply(h, "!price 4", user="bob") == "4 USD"


async def test_a_failing_command_answers_neutrally_and_logs(limelight, caplog):
    h = await limelight(plugins={"shop": Shop()})
    with caplog.at_level(logging.ERROR, "limelight.commands"):
        answer = await reply(h, "!boom")
    assert answer == h.settings.chat.error_reply
    assert "secret internal detail" not in answer
    assert "secret internal detail" in caplog.text and "!boom" in caplog.text
    assert h.services.chat.status()["commands"]["errors"] == 1


async def test_a_slow_command_times_out(limelight):
    never = asyncio.Event()

    class Slow(Plugin[NoConfig]):
        @command("slow")
        async def slow(self, call) -> str:
            await never.wait()
            return "never"

        @hookimpl
        def register_commands(self, register):
            register(self.slow)

    h = await limelight(plugins={"slow": Slow()}, config={"chat": {"command_timeout": 0.05}})
    assert await reply(h, "!slow") == h.settings.chat.error_reply


async def test_replies_are_threaded_and_can_be_sent_by_the_handler(limelight):
    h = await limelight(plugins={"shop": Shop()})
    message = await h.chat_as("alice", "!quiet")
    [said] = h.said
    assert said.text == "done quietly" and said.reply_to is message
    assert said.priority == "low" and said.channel == "test"


async def test_help_and_commands(limelight):
    h = await limelight(plugins={"shop": Shop()})
    listing = await reply(h, "!commands")
    assert listing.startswith("Commands: !boom, !commands, !help, !pick")
    assert "!give" not in listing and "!quiet" not in listing and "!vipcheck" not in listing
    assert "!give" in await reply(h, "!help", roles={"moderator"})
    assert await reply(h, "!help gift") == (
        "!give <who> <points>: Gives points to a viewer. (moderators only) Also: !gift. "
        "Example: !give @bob 5"
    )
    assert await reply(h, "!help !pick") == (
        "!pick <red|green>: Picks a colour. Example: !pick red"
    )
    assert await reply(h, "!help nope") == "There is no !nope command."
    assert await reply(h, "!help quiet") == "There is no !quiet command."
    assert await reply(h, "!nope") is None  # unknown commands stay silent
    assert await reply(h, "! help") is None


async def test_examples_run_as_tests(limelight):
    h = await limelight(plugins={"shop": Shop()})
    assert await run_examples(h, "shop") == []
    assert await run_examples(h, "core") == []


async def test_a_wrong_example_is_reported(limelight):
    class Wrong(Plugin[NoConfig]):
        @command("two")
        @example("!two", "2")
        async def two(self, call) -> str:
            return "3"

        @hookimpl
        def register_commands(self, register):
            register(self.two)

    h = await limelight(plugins={"wrong": Wrong()})
    [failure] = await run_examples(h, "wrong")
    assert "expected '2', got '3'" in failure


async def test_gating_hides_commands_and_delete_verdicts_delete(limelight):
    def gate(message):
        if "hidden" in message.text:
            return Verdict.hide("supporters only")
        if "spam" in message.text:
            return Verdict.delete("spam")
        return None

    h = await limelight(plugins={"shop": Shop(), "gate": HookPlugin(check_chat_message=gate)})
    assert await reply(h, "!shout hidden words") is None
    spam = await h.chat_as("alice", "!shout spam")
    assert h.said == []
    assert h.chat_connector.deleted == [spam.source_id]
    feed = h.services.chat.feed_since(0)
    assert [e["shown"] for e in feed if e["kind"] == "in"] == [False, False]
    assert await reply(h, "!shout fine") == "FINE"


async def test_config_text_commands(limelight):
    h = await limelight(
        config={
            "chat": {
                "commands": {
                    "discord": "Join us at https://discord.example/abc, {user}!",
                    "so": {
                        "text": "Go follow {args} on {platform}!",
                        "role": "moderator",
                        "aliases": ["shoutout"],
                    },
                }
            }
        }
    )
    assert await reply(h, "!discord") == "Join us at https://discord.example/abc, alice!"
    assert await reply(h, "!so bob") == "!so is for moderators only."
    assert (
        await reply(h, "!shoutout {user}", roles={"moderator"}) == "Go follow {user} on twitch!"
    )  # viewer text is not expanded again
    assert "!discord" in await reply(h, "!commands")


async def test_duplicate_names_and_aliases_disable_the_later_plugin(limelight):
    class TakesHelp(Plugin[NoConfig]):
        @command("help")
        async def help_(self, call) -> str:
            return "mine"

        @command("mine")
        async def mine(self, call) -> str:
            return "mine"

        @hookimpl
        def register_commands(self, register):
            register(self.mine)
            register(self.help_)

    class TakesAlias(Plugin[NoConfig]):
        @command("other", aliases=("pick",))
        async def other(self, call) -> str:
            return "other"

        @hookimpl
        def register_commands(self, register):
            register(self.other)

    h = await limelight(
        plugins={"shop": Shop(), "takes_help": TakesHelp(), "takes_alias": TakesAlias()}
    )
    help_info, alias_info = h.host.info["takes_help"], h.host.info["takes_alias"]
    assert help_info.status == alias_info.status == "failed"
    assert "!help" in help_info.reason and "'core'" in help_info.reason
    assert "alias" in alias_info.reason and "!pick" in alias_info.reason
    assert "'shop'" in alias_info.reason
    # The owners keep their commands; nothing of a refused plugin stays half-registered.
    assert (await reply(h, "!help")).startswith("Commands:")
    assert await reply(h, "!pick red") == "You picked red."
    assert await reply(h, "!mine") is None and await reply(h, "!other") is None


async def test_timers_need_time_and_chat_lines(limelight):
    h = await limelight(
        config={
            "chat": {
                "timers": [{"text": "Follow the stream!", "every_minutes": 10, "min_lines": 2}]
            }
        }
    )
    clock = ManualClock()
    h.services.chat.set_clock(clock)
    await asyncio.sleep(0)
    clock.advance(600)
    await h.settle()
    assert h.said == []  # no chat lines yet: a timer never talks to an empty room
    await h.chat_as("alice", "hi")
    await h.chat_as("bob", "hello")
    clock.advance(600)
    await h.settle()
    assert [s.text for s in h.said] == ["Follow the stream!"]
    clock.advance(600)
    await h.settle()
    assert len(h.said) == 1


def test_decorator_validation():
    with pytest.raises(ValueError):
        command("bad name")
    with pytest.raises(ValueError):
        command("x", role="admin")
    with pytest.raises(TypeError):
        command("x")(lambda: None)

    @command("ok")
    def ok(ctx, call, n: int = 2, *, rest: str = "") -> str:
        return f"{n}{rest}"

    assert ok(None, None) == "2"  # still callable as a function
    assert parse_arguments(ok, "5 and more") == ([5], {"rest": "and more"})


async def test_simulated_lines_from_the_api_are_answered_locally(limelight):
    h = await limelight(plugins={"shop": Shop()})
    status, _ = await h.post_event(
        {
            "type": "chat.message",
            "test": True,
            "source": "api",
            "source_id": "sim-1",
            "viewer": {"platform": "twitch", "id": "9", "name": "Sim"},
            "data": {"text": "!pick red"},
        }
    )
    assert status == 201
    [said] = h.said
    assert said.text == "You picked red." and said.connector == "test"


async def test_examples_still_run_after_a_long_session(limelight):
    h = await limelight(plugins={"shop": Shop()}, config={"chat": {"history": 10}})
    for i in range(15):
        await h.chat_as("alice", f"!sum {i}")
    assert len(h.said) == 10 and h.services.chat.sent_count == 15
    assert await run_examples(h, "shop") == []
