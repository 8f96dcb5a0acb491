"""The garbage collector in a long-running server: what start-up built is set aside.

A full (generation 2) collection walks every tracked object, and a started server holds
over a hundred thousand that live as long as the process: modules, classes, the ORM's and
the settings' models, the plugins. Under a chat flood the objects that survive a while
(recent message ids, log batches, queued events) start a full collection every few
seconds, and walking the start-up heap made each one a 100 to 200 ms stop of the event loop:
the worst latency an overlay page saw (``bench_overlay_latency_under_chat_flood``,
docs/performance.md). ``gc.freeze()`` moves what exists once the server is up into a
permanent generation that collections skip; what is built later is collected as before,
the young generation less often (:data:`YOUNG_GENERATION`).
"""

from __future__ import annotations

import gc

#: Seconds after the server answers before the start-up heap is set aside: not in the way
#: of the first ``/healthz``, and after the objects the first moments build that live on.
FREEZE_AFTER = 1.0

#: Allocations of containers (net of those freed) between two collections of the youngest
#: generation, instead of CPython's 700. Why: under a chat flood each line's objects live
#: a few milliseconds (the dedupe table, two lanes' queues, the chat log's batch), long
#: enough to survive a collection every 700 allocations and be walked again by the older
#: generations' collections; at 20,000 most of them are gone before the next collection.
#: Measured: the chat pipeline ~7 % faster per CPU second against sopel's parse under the
#: same setting (docs/performance.md, fourth round), with no change in the command reply
#: or overlay latencies. Only garbage in cycles waits longer; everything else is freed
#: when its last reference goes, as before.
YOUNG_GENERATION = 20_000


def freeze_startup_heap() -> None:
    """Collect what start-up left behind (one pause, once), move everything that survived
    out of the collector's way, and collect the young generation less often
    (:data:`YOUNG_GENERATION`). Once per process, by ``limelight run``: a process that
    builds many apps (the tests) would keep each one's frozen garbage."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)
