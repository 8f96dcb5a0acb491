"""``limelight doctor`` for Twitch: can the bot log in to chat, and is the token good for Helix?

Runs once, with short timeouts, against the configured URLs; says what is wrong in one line
each and never prints the token.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from .connector import CAPABILITIES
from .helix import Helix, HelixError
from .irc import IrcParseError, parse_line


async def probe(settings: Any, timeout: float = 5.0) -> list[tuple[str, bool, str]]:
    """``[(check, ok, detail)]`` for the IRC login, the channel and the Helix token."""
    results: list[tuple[str, bool, str]] = []
    token = settings.token.removeprefix("oauth:")
    async with aiohttp.ClientSession() as session:
        results.append(await _irc_login(session, settings, token, timeout))
        helix = Helix(session, settings.api_url, settings.client_id, token, timeout=timeout)
        try:
            me = await helix.users()
            users = await helix.users([settings.channel.lstrip("#").lower()])
        except HelixError as exc:
            results.append(("helix", False, f"{exc} (check twitch.token and twitch.client_id)"))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            results.append(("helix", False, f"cannot reach {settings.api_url}: {exc}"))
        else:
            who = me[0]["login"] if me else "?"
            if not users:
                results.append(("helix", False, f"no Twitch channel named {settings.channel!r}"))
            else:
                results.append(
                    ("helix", True, f"token belongs to {who}; channel id {users[0]['id']}")
                )
    return results


async def _irc_login(
    session: aiohttp.ClientSession, settings: Any, token: str, timeout: float
) -> tuple[str, bool, str]:
    try:
        async with asyncio.timeout(timeout):
            async with session.ws_connect(settings.irc_url) as ws:
                await ws.send_str(f"CAP REQ :{CAPABILITIES}")
                await ws.send_str(f"PASS oauth:{token}")
                await ws.send_str(f"NICK {settings.bot_username.lower()}")
                async for msg in ws:
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    for line in msg.data.split("\r\n"):
                        try:
                            parsed = parse_line(line)
                        except IrcParseError:
                            continue
                        if parsed.command == "001":
                            return ("irc", True, f"logged in as {settings.bot_username}")
                        if parsed.command == "NOTICE" and parsed.params[:1] == ["*"]:
                            return ("irc", False, f"login refused: {parsed.trailing}")
                return ("irc", False, "the server closed the connection during login")
    except TimeoutError:
        return ("irc", False, f"no answer from {settings.irc_url} within {timeout:g} s")
    except (aiohttp.ClientError, OSError) as exc:
        return ("irc", False, f"cannot reach {settings.irc_url}: {exc}")
