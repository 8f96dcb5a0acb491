"""The benchmarks' figures as JSON: ``bench-results.json`` at the repository root.

Every ``bench_*.py`` prints its figures for a person and calls :func:`record` next to the
print, so a script (or a later run) can compare them without scraping text. One key per
figure, each with the baseline measured in the same run beside it, because only the ratio
means something across machines::

    {"bus.events_per_s": {"value": 24000.0, "baseline": 1900000.0, "ratio": 0.0126,
                          "unit": "events/s"}, ...}

``make bench`` removes the file before it starts, so the file holds one run's figures
(only the selected ones with ``PYTEST_ARGS=-k ...``); running the benchmarks with pytest
directly merges the new figures into what is there.
"""

from __future__ import annotations

import gc
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[2] / "bench-results.json"


def rss_mb(pid: int | None = None) -> float:
    """A process's resident memory now, in MB: this one (where the server under test
    runs) by default, or ``pid``'s."""
    status = Path(f"/proc/{pid if pid is not None else 'self'}/status")
    for line in status.read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _number(x: float | None) -> float | None:
    """JSON has no NaN or infinity; a figure that could not be measured is ``null``."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def record(name: str, value: float, baseline: float | None = None, *, unit: str = "") -> None:
    """Store one figure (``value``) and its same-run ``baseline``; ``ratio`` is
    value / baseline (``null`` without a baseline). Written at once, atomically, so a
    benchmark that fails later still leaves the figures already measured."""
    entry: dict[str, Any] = {"value": _number(value), "baseline": _number(baseline)}
    v, b = entry["value"], entry["baseline"]
    entry["ratio"] = _number(v / b) if v is not None and b else None
    entry["unit"] = unit
    try:
        figures = json.loads(RESULTS.read_text())
        if not isinstance(figures, dict):
            figures = {}
    except (OSError, ValueError):
        figures = {}
    figures[name] = entry
    tmp = RESULTS.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    tmp.replace(RESULTS)


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """What ``limelight run`` does a second after it answers (:mod:`limelight.heap`): the
    start-up heap set aside from the collector. Undone after, since this process goes on to
    build other servers."""
    from limelight.heap import freeze_startup_heap

    threshold = gc.get_threshold()
    freeze_startup_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
