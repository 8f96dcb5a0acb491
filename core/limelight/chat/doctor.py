"""``limelight doctor`` checks for chat that need no platform: the ``[chat]`` commands.

Platform checks (can the Twitch bot log in?) belong to the platform's plugin, as a
``DoctorCheck`` it registers; the core never imports a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..commands import _NAME, builtin_commands
from ..text import plural

if TYPE_CHECKING:
    from ..config import Settings


async def check_chat(settings: Settings) -> int:
    """Print one line per finding; return the number of problems."""
    problems = 0
    chat = settings.chat
    builtins = {c.name for c in builtin_commands()}
    seen: set[str] = set()
    for name, spec in chat.commands.items():
        names = [name, *([] if isinstance(spec, str) else spec.aliases)]
        for n in names:
            if not _NAME.match(n.lower()):
                print(f"chat: FAIL  chat.commands.{name}: {n!r} is not a valid command name")
                problems += 1
            elif n.lower() in builtins or n.lower() in seen:
                print(f"chat: FAIL  chat.commands.{name}: {chat.prefix}{n} is already taken")
                problems += 1
            seen.add(n.lower())
    if not problems:
        commands, timers = (
            plural(len(chat.commands), "text command"),
            plural(len(chat.timers), "timer"),
        )
        print(f"chat: ok    {commands}, {timers}")
    return problems
