"""``limelight run`` sets the start-up heap aside from the garbage collector (limelight.heap)."""

from __future__ import annotations

import gc

from limelight.heap import YOUNG_GENERATION, freeze_startup_heap


def test_the_startup_heap_is_frozen_and_new_garbage_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    threshold = gc.get_threshold()
    try:
        freeze_startup_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        Node()  # a cycle made after start-up
        assert gc.collect() >= 1
        assert gc.get_freeze_count() == frozen
        # the young generation is collected less often; the older ones as before
        assert gc.get_threshold() == (YOUNG_GENERATION, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert gc.get_freeze_count() == 0
