"""``limelight run`` sets the start-up heap aside from the garbage collector (limelight.heap)."""

from __future__ import annotations

import gc

from limelight.heap import freeze_startup_heap


def test_the_startup_heap_is_frozen_and_new_garbage_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    try:
        freeze_startup_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        Node()  # a cycle made after start-up
        assert gc.collect() >= 1
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
