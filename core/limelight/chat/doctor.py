"""``limelight doctor`` checks for chat: the ``[chat]`` commands and the Twitch login."""

from __future__ import annotations

from typing import Any

from ..commands import _NAME, builtin_commands


async def check_chat(settings: Any) -> int:
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
        print(f"chat: ok    {len(chat.commands)} text command(s), {len(chat.timers)} timer(s)")
    twitch = settings.twitch
    if not twitch.enabled:
        print("twitch: off   ([twitch] enabled = false; the dashboard console still works)")
        return problems
    missing = [
        k for k in ("channel", "bot_username", "token", "client_id") if not getattr(twitch, k)
    ]
    if missing:
        print(
            "twitch: FAIL  [twitch] is enabled but "
            + ", ".join(f"twitch.{k}" for k in missing)
            + " is empty"
        )
        return problems + 1
    try:
        from limelight_twitch.probe import probe
    except ImportError:
        print("twitch: FAIL  [twitch] is enabled but the twitch plugin is not installed")
        return problems + 1
    for check, ok, detail in await probe(twitch):
        print(f"twitch {check}: {'ok  ' if ok else 'FAIL'}  {detail}")
        problems += 0 if ok else 1
    return problems
