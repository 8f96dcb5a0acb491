"""A repeating problem is logged once per interval, with its count, not once per time."""

from __future__ import annotations

import logging

import pytest
from limelight.logs import Throttled


def test_a_repeating_problem_is_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("limelight.logs.time.monotonic", lambda: clock[0])
    throttled = Throttled(logging.getLogger("test.throttled"), "the database is away", 60)
    with caplog.at_level(logging.WARNING, logger="test.throttled"):
        for _ in range(240):  # a minute of failing flushes, four a second
            throttled.note("OperationalError")
            clock[0] += 0.25
        throttled.note("OperationalError")  # a minute later: one more line, with the count
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "the database is away: 1 time(s) in the last 60 s (OperationalError)",
        "the database is away: 240 time(s) in the last 60 s (OperationalError)",
    ]
    assert throttled.total == 241
