"""IRCv3 parsing: tags and their escapes, prefixes, trailing parameters."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from limelight_twitch.irc import (
    IrcParseError,
    _parse_tags,
    escape_tag,
    format_line,
    parse_line,
    strip_action,
    unescape_tag,
)
from limelight_twitch.mapping import IrcMapper, roles_from_tags

from .fake_twitch import SAMPLES


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("a\\sb", "a b"),
        ("semi\\:colon", "semi;colon"),
        ("back\\\\slash", "back\\slash"),
        ("cr\\rlf\\n", "cr\rlf\n"),
        ("unknown\\xescape", "unknownxescape"),
        ("trailing\\", "trailing"),
        ("plain", "plain"),
    ],
)
def test_tag_unescape(raw: str, value: str) -> None:
    assert unescape_tag(raw) == value


def test_tag_escape_round_trip() -> None:
    value = "a; b\\c\r\nd"
    assert unescape_tag(escape_tag(value)) == value
    assert " " not in escape_tag(value) and ";" not in escape_tag(value)


def test_parse_documented_privmsg() -> None:
    msg = parse_line(SAMPLES["privmsg"].format(channel="ronni"))
    assert msg.command == "PRIVMSG"
    assert msg.channel == "ronni"
    assert msg.nick == "ronni"
    assert msg.trailing == "Kappa Keepo Kappa"
    assert msg.tags["emotes"] == "25:0-4,12-16/1902:6-10"
    assert msg.tags["badge-info"] == ""


def test_parse_system_msg_escapes_and_colons_in_text() -> None:
    msg = parse_line(SAMPLES["resub"].format(channel="dallas"))
    assert msg.tags["system-msg"] == "ronni has subscribed for 6 months!"
    assert msg.trailing == "Great stream -- keep it up!"
    line = parse_line(":a!a@a.tmi.twitch.tv PRIVMSG #c :time: 10:30 :)")
    assert line.trailing == "time: 10:30 :)"


def test_parse_without_tags_or_prefix() -> None:
    assert parse_line("PING :tmi.twitch.tv").params == ["tmi.twitch.tv"]
    assert parse_line(":tmi.twitch.tv RECONNECT").command == "RECONNECT"
    with pytest.raises(IrcParseError):
        parse_line("@only=tags")
    with pytest.raises(IrcParseError):
        parse_line("")


def test_format_line_escapes_reply_tag() -> None:
    line = format_line("PRIVMSG", "#c", "hello there", tags={"reply-parent-msg-id": "a b"})
    assert line == "@reply-parent-msg-id=a\\sb PRIVMSG #c :hello there"


def test_action_lines() -> None:
    assert strip_action("\x01ACTION waves\x01") == ("waves", True)
    assert strip_action("waves") == ("waves", False)


def test_roles_are_platform_neutral() -> None:
    assert roles_from_tags({"badges": "broadcaster/1"}) >= {"broadcaster", "viewer"}
    assert "moderator" in roles_from_tags({"mod": "1", "badges": ""})
    assert "subscriber" in roles_from_tags({"badges": "founder/0"})
    assert "vip" in roles_from_tags({"vip": "1", "badges": "vip/1"})
    assert roles_from_tags({"badges": "turbo/1", "mod": "0", "subscriber": "0"}) == {"viewer"}


def test_clear_lines_map_to_chat_deleted() -> None:
    mapper = IrcMapper()
    [(one, _)] = mapper.map(parse_line(SAMPLES["clearmsg"].format(channel="bar")))
    assert one.type == "chat.deleted"
    assert one.message_id == "94e6c7ff-bf98-4faa-af5d-7ad633a158a9"
    [(user, _)] = mapper.map(parse_line(SAMPLES["clearchat_user"].format(channel="d")))
    assert user.viewer.id == "87654321" and user.message_id is None
    [(everyone, _)] = mapper.map(parse_line(SAMPLES["clearchat_all"].format(channel="d")))
    assert everyone.viewer is None and everyone.message_id is None


def test_gift_bomb_link_survives_the_wire() -> None:
    from limelight import Subscription, ViewerRef

    sub = Subscription(
        source="twitch",
        source_id="g1",
        viewer=ViewerRef("twitch", "1", "a"),
        gifted=True,
        gifter=ViewerRef("twitch", "2", "b"),
        gift_bomb="bomb-1",
    )
    wire = sub.to_wire()
    assert wire["data"]["gift_bomb"] == "bomb-1"
    again = Subscription.from_data(wire["data"], source="twitch", source_id="g1")
    assert again.gift_bomb == "bomb-1" and again.gifter.id == "2"


@pytest.mark.parametrize(
    ("line", "command", "params", "prefix", "tags"),
    [
        (
            "@a=1;b=;c  :n!n@h  PRIVMSG   #c  :hi  there",
            "PRIVMSG",
            ["#c", "hi  there"],
            "n!n@h",
            {"a": "1", "b": "", "c": ""},
        ),
        ("@=x;k=v=w :p cmd #c :", "CMD", ["#c", ""], "p", {"k": "v=w"}),
        (":p 001 bot :Welcome, GLHF!", "001", ["bot", "Welcome, GLHF!"], "p", {}),
        ("PING", "PING", [], "", {}),
        ("JOIN #c\r\n", "JOIN", ["#c"], "", {}),
        (
            "CAP * ACK :twitch.tv/tags twitch.tv/commands",
            "CAP",
            ["*", "ACK", "twitch.tv/tags twitch.tv/commands"],
            "",
            {},
        ),
    ],
)
def test_parse_line_splits_every_part(
    line: str, command: str, params: list[str], prefix: str, tags: dict[str, str]
) -> None:
    msg = parse_line(line)
    assert (msg.command, msg.params, msg.prefix, msg.tags) == (command, params, prefix, tags)


def _tags_one_by_one(raw: str) -> dict[str, str]:
    """What a tag section means, tag by tag (IRCv3): split at the first "=", no name
    skipped, the last of a repeated name wins, values unescaped."""
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        key, _, value = item.partition("=")
        tags[key] = unescape_tag(value)
    tags.pop("", None)
    return tags


@pytest.mark.parametrize(
    "raw",
    [
        "a=1;b=2;c=3",
        "a=b=c;d",  # as many "=" as tags, but one tag has none and another two
        "a==;b",
        "a=;=b;c",
        "k=v=w;x=1",
        "a;b=1",
        "a=1;b",
        "a;b;c",
        "=x;k=v",
        "a=1;;b=2",
        ";",
        "=",
        "",
        "a=1;a=2;b=;a=3",  # the last of a name given twice, in its first place
        "a=x\\:y\\s=z;b=\\\\;c=é=ü;d=日本",
        "display-name=Zoë;emotes=;reply-parent-msg-body=a\\s=\\sb;id=1",
        ";".join(f"t{i}={i}" for i in range(2000)),  # more tags than the fast check spans
        ";".join(f"t{i}={i}" for i in range(2000)) + ";lone",
    ],
)
def test_tags_mean_the_same_whichever_way_they_are_split(raw: str) -> None:
    tags = _parse_tags(raw)
    assert list(tags.items()) == list(_tags_one_by_one(raw).items())


def test_tags_over_every_short_section_match_the_tag_by_tag_reading() -> None:
    """Every string of up to six of ``a = ; \\ s é``: each separator layout the fast
    path could take for one it can read."""
    for n in range(7):
        for chars in itertools.product("a=;\\sé", repeat=n):
            raw = "".join(chars)
            assert list(_parse_tags(raw).items()) == list(_tags_one_by_one(raw).items()), raw


@pytest.mark.parametrize("line", ["   ", "@a=1 ", "@a=1  :prefix", ":prefix", ":prefix  ", "\r\n"])
def test_parse_line_refuses_lines_without_a_command(line: str) -> None:
    with pytest.raises(IrcParseError):
        parse_line(line)


def test_privmsg_bits_must_be_ascii_digits_and_action_lines_are_unwrapped() -> None:
    mapper = IrcMapper()
    base = "@id={id};bits={bits};user-id=5;display-name=Ann :ann!ann@h PRIVMSG #c :{text}"
    [(chat, _)] = mapper.map(parse_line(base.format(id="m1", bits="\u00b2", text="x")))
    assert chat.bits == 0  # a superscript two is a digit to str.isdigit, not to int()
    [(chat, _), (cheer, _)] = mapper.map(parse_line(base.format(id="m2", bits="7", text="y")))
    assert chat.bits == 7 and cheer.bits == 7
    line = base.format(id="m3", bits="", text="\x01ACTION waves\x01")
    [(chat, _)] = mapper.map(parse_line(line))
    assert chat.text == "waves" and chat.viewer.name == "Ann" and chat.channel == "c"


def test_privmsg_times_follow_each_lines_tmi_sent_ts() -> None:
    """Lines of one millisecond share one time; a new stamp, or one out of range (the
    receive time instead), is read anew and never reused for the next line."""
    mapper = IrcMapper()
    line = "@id={id};tmi-sent-ts={ts};user-id=5 :ann!ann@h PRIVMSG #c :hi"

    def at(mid: str, ts: str) -> datetime:
        [(chat, _)] = mapper.map(parse_line(line.format(id=mid, ts=ts)))
        return chat.occurred_at

    first = at("a", "1700000000123")
    assert first == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert at("b", "1700000000123") == first
    assert at("c", "1700000000124") - first == timedelta(milliseconds=1)
    before = datetime.now(UTC)
    assert at("d", "99") >= before  # 1970: out of range, the receive time
    assert at("e", "99") >= before
    assert at("f", "1700000000124") == first + timedelta(milliseconds=1)


def test_chatters_with_the_same_tags_share_their_viewer_badges_and_roles() -> None:
    mapper = IrcMapper()
    line = "@id={id};badges={badges};mod={mod};user-id=7;display-name=Bo :bo!bo@h PRIVMSG #c :x"
    [(one, _)] = mapper.map(parse_line(line.format(id="1", badges="vip/1", mod="0")))
    [(two, _)] = mapper.map(parse_line(line.format(id="2", badges="vip/1", mod="0")))
    [(three, _)] = mapper.map(parse_line(line.format(id="3", badges="vip/1", mod="1")))
    assert one.viewer is two.viewer and one.roles is two.roles and one.badges == ("vip/1",)
    assert one.roles == {"viewer", "vip"} and three.roles == {"viewer", "vip", "moderator"}
    assert three.viewer == one.viewer and one.viewer.name == "Bo"
