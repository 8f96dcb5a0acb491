"""What a plugin adds to the ``limelight`` command line (``register_cli_commands``).

The CLI builds the plugin host (config validated, contexts made, no server started) to
find these, so a plugin's command works with the same ``--config`` as ``limelight run``.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CliCommand:
    """``limelight <name> ...``: ``arguments(parser)`` adds its options; ``run(args)``
    (may be async) does the work and returns the exit code."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int | Awaitable[int]]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None

    @property
    def key(self) -> str:
        return self.name


__all__ = ["CliCommand"]
