"""Importing tortoise-orm without reading the source of its own ``Model`` class.

Why: tortoise 1.1's model metaclass looks for ``#:`` comments above a model's fields in
the model's source (``inspect.getsource``, which parses the whole module with ``ast`` and
tokenizes the class), unless the class body sets ``_no_comments``. Its own base ``Model``
does not: it has no field to comment, and its module is ~2,000 lines, so every process
that imports tortoise spent 50 to 60 ms on nothing, ~6 % of ``limelight run``'s start
(docs/performance.md, "At start-up"). Limelight's own models set ``_no_comments``; a
plugin's model without it still gets its comments read, as tortoise documents.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any


def import_tortoise() -> None:
    """Import ``tortoise.models`` with ``inspect.getsource`` failing meanwhile for its
    ``Model`` class only, which tortoise takes as "no comments" (it catches the
    ``OSError``). Does nothing once
    tortoise's models are imported. Called first thing by ``import limelight``, in the
    importing thread, before anything else of Limelight runs."""
    if "tortoise.models" in sys.modules:
        return
    real = inspect.getsource

    def getsource(obj: Any) -> str:
        if isinstance(obj, type) and (obj.__module__, obj.__qualname__) == _TORTOISE_MODEL:
            raise OSError("tortoise's Model has no field comments (limelight.orm_import)")
        return real(obj)  # anything else imported meanwhile (anyio reads its own source)

    inspect.getsource = getsource  # type: ignore[assignment]  # same call, looser hint
    try:
        importlib.import_module("tortoise.models")
    finally:
        inspect.getsource = real


#: The one class whose source is not read: tortoise's base ``Model``.
_TORTOISE_MODEL = ("tortoise.models", "Model")
