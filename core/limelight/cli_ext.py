"""What a plugin adds to the ``limelight`` command line (``register_cli_commands``).

The CLI builds the plugin host (config validated, contexts made, no server started) to
find these, so a plugin's command works with the same ``--config`` as ``limelight run``,
and ``limelight --help`` lists them next to the core's own sub-commands.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import Registry

#: The sub-commands of ``limelight`` itself. A plugin that registers one of these names is
#: refused like any other collision (disabled, the reason naming the core).
CORE_CLI_COMMANDS: tuple[str, ...] = (
    "init",
    "run",
    "plugins",
    "simulate",
    "doctor",
    "obs",
    "plugin",
)

#: A sub-command name: what follows ``limelight`` on the command line.
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class CliCommand:
    """``limelight <name> ...``: ``arguments(parser)`` adds its options; ``run(args)``
    (may be async) does the work and returns the exit code.

    ``run`` is called with the plugin's config and context but without the server
    started (``self.ctx.running`` is false), so it reaches files, the network or a running
    server's API, not the live services. Name it after the plugin (``<plugin>-<verb>``),
    so two plugins' commands do not collide."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int | Awaitable[int]]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None

    def __post_init__(self) -> None:
        # A name argparse would read as an option, or one with spaces, could never be typed.
        if not _NAME.match(self.name):
            raise ValueError(
                f"CLI command name {self.name!r}: use lowercase letters, digits, - and _, "
                "starting with a letter (e.g. 'twitch-probe')"
            )

    @property
    def key(self) -> str:
        return self.name


def reserve_core_names(registry: Registry[CliCommand]) -> None:
    """Claim the core's sub-command names in a host's ``cli_commands`` registry, so that a
    plugin registering one is refused (idempotent: a name already claimed is left alone)."""
    for name in CORE_CLI_COMMANDS:
        if registry.owner_of(name) is None:
            registry.reserve("core", name)


__all__ = ["CORE_CLI_COMMANDS", "CliCommand", "reserve_core_names"]
