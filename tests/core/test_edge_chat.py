"""The edge's one-look check for chat lines (``clean_event``'s common case).

A chat line that is already clean is passed by one check over all its fields together;
everything else is cleaned field by field. These tests hold the check to the field-by-field
path: whatever it passes, the field-by-field path would have left alone, and every kind of
dirt in every kind of field still gets cleaned.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
from limelight import edge
from limelight.events import ChatMessage, Event, Subscription, ViewerRef
from limelight.testing import make_chat, make_tip, make_viewer


def _field_by_field(event: Any) -> Any:
    """``clean_event`` with an explicit ``now``: the field-by-field path, no shortcut."""
    return edge.clean_event(copy.copy(event), now=datetime.now(UTC))


def _fields(event: Any) -> dict[str, Any]:
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


DIRTY: dict[str, dict[str, Any]] = {
    "control character in the text": {"text": "hi\x00there"},
    "lone surrogate in the text": {"text": "half \ud83d"},
    "text too long": {"text": "z" * (edge.MAX_TEXT + 5)},
    "newline in the channel": {"channel": "chan\nnel"},
    "source too long": {"source": "s" * (edge.MAX_SOURCE + 1)},
    "source id too long": {"source_id": "i" * (edge.MAX_ID + 1)},
    "reply id with a control character": {"reply_to": "parent\x1b"},
    "control character in a badge": {"badges": ("vip/1\x07",)},
    "badge too long": {"badges": ("b" * (edge.MAX_NAME + 1),)},
    "surrogate in a role": {"roles": frozenset({"viewer", "vi\udc00p"})},
    "control character in an emote": {"emotes": ("0-1:https://e/\x00",)},
    "viewer name with a control character": {"viewer": make_viewer("bad\x00name")},
    "viewer id too long": {"viewer": ViewerRef("twitch", "9" * 300, "long")},
    "bits out of range": {"bits": edge.MAX_INT + 1},
    "a time in year 9999": {"occurred_at": datetime(9999, 1, 1, tzinfo=UTC)},
    "a time before 2000": {"occurred_at": datetime(1999, 12, 31, tzinfo=UTC)},
    "a time two days ahead": {"occurred_at": datetime.now(UTC) + timedelta(days=2)},
}


@pytest.mark.parametrize("case", sorted(DIRTY))
def test_every_kind_of_dirt_is_cleaned_as_field_by_field(case: str) -> None:
    fields = DIRTY[case]
    message = make_chat("hello")
    for name, value in fields.items():
        setattr(message, name, value)
    try:
        expected = _field_by_field(message)
    except edge.EdgeError:  # an integer out of range is refused, on both paths
        with pytest.raises(edge.EdgeError):
            edge.clean_event(message)
        return
    cleaned = edge.clean_event(message)
    got, want = _fields(cleaned), _fields(expected)
    if "occurred_at" in fields:  # both replaced it by their own "now"
        assert got.pop("occurred_at") != fields["occurred_at"]
        want.pop("occurred_at")
    assert got == want
    assert any(getattr(cleaned, k) != v for k, v in fields.items()), "nothing was cleaned"


def test_a_clean_line_is_passed_as_it_is() -> None:
    message = make_chat(
        "héllo wörld 😀 Kappa",  # printable text outside ASCII is clean, too
        roles={"viewer", "subscriber"},
        badges=("subscriber/12",),
        emotes=("0-4:https://e/25",),
        reply_to="parent-1",
        bits=100,
        color="#1E90FF",
    )
    before = _fields(message)
    assert edge.clean_event(message) is message
    assert _fields(message) == before == _fields(_field_by_field(message))


def test_fields_holding_the_wrong_kind_of_value_take_the_field_by_field_path() -> None:
    # Not text where text belongs, a naive time, a bool subclass for an integer: the
    # one-look check vouches for none of them, so the field-by-field path decides.
    odd = make_chat("hi", color=5, occurred_at=datetime(2024, 5, 1, 12, 0))  # type: ignore[arg-type]
    assert _fields(edge.clean_event(copy.copy(odd))) == _fields(_field_by_field(odd))
    assert edge.clean_event(make_chat("hi", bits=True)).bits is True  # type: ignore[arg-type]


def test_a_subscription_with_a_dirty_gifter_is_cleaned() -> None:
    """The one-look check covers every viewer field of a class, not only ``viewer``."""
    sub = Subscription(
        source="twitch",
        source_id="s-1",
        viewer=make_viewer("bob"),
        gifter=make_viewer("gift\x00er"),
    )
    expected = _field_by_field(sub).gifter
    assert expected is not None and expected.name == "gifter"
    assert edge.clean_event(sub).gifter == expected


def test_the_sane_bound_is_never_later_than_now_plus_the_slack() -> None:
    bound = edge._sane_until()
    assert bound <= datetime.now(UTC) + edge.FUTURE_SLACK
    assert bound >= datetime.now(UTC) + edge.FUTURE_SLACK - timedelta(seconds=2)


def test_a_time_found_sane_is_trusted_again_and_no_other_time_rides_on_it() -> None:
    """The one-look check remembers the last time object it found sane (lines of one
    millisecond share it): that object passes again, and a time far ahead that comes
    next is still replaced, whatever came before it."""
    when = datetime.now(UTC)
    first = make_chat("a", occurred_at=when)
    assert edge.clean_event(first) is first and first.occurred_at is when
    ahead = datetime.now(UTC) + timedelta(days=3)
    late = make_chat("b", occurred_at=ahead)
    edge.clean_event(late)
    assert late.occurred_at < ahead - timedelta(days=1)
    again = make_chat("c", occurred_at=when)
    assert edge.clean_event(again).occurred_at is when


def test_chat_messages_have_the_one_look_check() -> None:
    edge.clean_event(make_chat("x"))
    assert edge._PLANS[ChatMessage].fine is not None


@dataclasses.dataclass(kw_only=True, slots=True)
class _Listed(Event):
    """An event with a list of strings, which can change after it was found clean."""

    type: ClassVar[str] = "test.listed"

    names: list[str] = dataclasses.field(default_factory=list)


def test_values_found_clean_are_trusted_only_while_they_cannot_change() -> None:
    """The one-look check remembers clean tuples, sets and viewers by identity; a list is
    checked every time, and another object with dirt in it is cleaned."""
    badges = ("vip/1",)
    viewer = make_viewer("ann")
    first = make_chat("a", badges=badges, viewer=viewer)
    assert edge.clean_event(first) is first and first.badges is badges
    again = make_chat("b", badges=badges, viewer=viewer)  # the same objects: trusted
    assert edge.clean_event(again).badges is badges and again.viewer is viewer
    dirty = make_chat("c", badges=("vip/1\x00",), viewer=make_viewer("ann\x00"))
    edge.clean_event(dirty)
    assert dirty.badges == ("vip/1",) and dirty.viewer is not None
    assert dirty.viewer.name == "ann"

    names = ["fine"]
    listed = _Listed(source="t", source_id="1", names=names)
    assert edge.clean_event(listed).names is names
    names.append("bad\x00")  # the same list, changed
    again_listed = _Listed(source="t", source_id="2", names=names)
    assert edge.clean_event(again_listed).names == ["fine", "bad"]


def test_a_set_field_holding_text_is_left_to_the_field_by_field_path() -> None:
    odd = make_chat("x")
    odd.roles = "viewer"  # type: ignore[assignment]
    assert edge.clean_event(odd).roles == "viewer"


def test_every_time_is_made_utc() -> None:
    """SQLite stores a time as the text of its own offset and compares those texts: one
    time in +02:00 among UTC ones would sort and filter two hours off. The edge makes
    every ``occurred_at`` UTC (the same instant), and takes a naive one as UTC."""
    berlin = timezone(timedelta(hours=2))
    local = datetime.now(berlin) - timedelta(minutes=5)
    moved = edge.clean_event(make_chat("hi", occurred_at=local))
    assert moved.occurred_at.tzinfo is UTC and moved.occurred_at == local
    naive = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    taken = edge.clean_event(make_chat("hi", occurred_at=naive))  # type: ignore[arg-type]
    assert taken.occurred_at.tzinfo is UTC
    assert taken.occurred_at == naive.replace(tzinfo=UTC)
    tip = edge.clean_event(make_tip("5.00", "EUR", occurred_at=local))
    assert tip.occurred_at.tzinfo is UTC and tip.occurred_at == local
