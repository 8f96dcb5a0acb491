"""The text helpers every surface shares: the placeholder filler, counts and spans in words."""

from __future__ import annotations

from datetime import timedelta

from limelight.text import duration, fill, plural


def test_fill_substitutes_plain_names_only() -> None:
    values = {"name": "Ann", "obj": object()}
    assert fill("{name} {missing}!", values) == "Ann !"
    assert fill("{name.__class__} {obj} {0} {name!r}", values).startswith("{name.__class__}")
    assert fill("{{name}}", values) == "{Ann}"


def test_plural_counts_in_words() -> None:
    assert [plural(n, "timer") for n in (0, 1, 2, 1200)] == [
        "0 timers",
        "1 timer",
        "2 timers",
        "1,200 timers",
    ]
    assert (
        plural(2, "match", "matches") == "2 matches" and plural(1, "match", "matches") == "1 match"
    )


def test_duration_says_its_two_largest_units() -> None:
    spans = {
        timedelta(days=30): "30 days",
        timedelta(days=1): "1 day",
        timedelta(days=3, hours=4, minutes=30): "3 days 4 h",
        timedelta(days=1, minutes=59): "1 day",
        timedelta(hours=1): "1 hour",
        timedelta(hours=2): "2 hours",
        timedelta(hours=9, minutes=59, seconds=20): "9 h 59 min",
        timedelta(minutes=9, seconds=59): "10 minutes",  # to the nearest minute
        timedelta(minutes=1): "1 minute",
        timedelta(minutes=45): "45 minutes",
        timedelta(seconds=20): "1 minute",  # a countdown never says 0 before its end
    }
    assert {delta: duration(delta) for delta in spans} == spans
