"""The garbage collector in a long-running server: what start-up built is set aside.

A full (generation 2) collection walks every tracked object, and a started server holds
over a hundred thousand that live as long as the process: modules, classes, the ORM's and
the settings' models, the plugins. Under a chat flood the objects that survive a while
(recent message ids, log batches, queued events) start a full collection every few
seconds, and walking the start-up heap made each one a 100 to 200 ms stop of the event loop:
the worst latency an overlay page saw (``bench_overlay_latency_under_chat_flood``,
docs/performance.md). ``gc.freeze()`` moves what exists once the server is up into a
permanent generation that collections skip; what is built later is collected as before.
"""

from __future__ import annotations

import gc

#: Seconds after the server answers before the start-up heap is set aside: not in the way
#: of the first ``/healthz``, and after the objects the first moments build that live on.
FREEZE_AFTER = 1.0


def freeze_startup_heap() -> None:
    """Collect what start-up left behind (one pause, once), then move everything that
    survived out of the collector's way. Once per process, by ``limelight run``: a process
    that builds many apps (the tests) would keep each one's frozen garbage."""
    gc.collect()
    gc.freeze()
