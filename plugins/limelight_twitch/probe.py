"""The Twitch plugin's ``limelight doctor`` check: can the bot log in to chat, and is the
token good for Helix?

Runs once, with short timeouts, against the configured URLs; says what is wrong in one line
each and never prints the token.
"""

from __future__ import annotations

import asyncio

import aiohttp

from .config import TwitchConfig
from .connector import CAPABILITIES
from .helix import Helix, HelixError
from .irc import IrcParseError, parse_line


async def probe(config: TwitchConfig, timeout: float = 5.0) -> list[tuple[str, bool, str]]:
    """``[(check, ok, detail)]`` for the IRC login, the channel and the Helix token."""
    results: list[tuple[str, bool, str]] = []
    token = config.token.removeprefix("oauth:")
    async with aiohttp.ClientSession() as session:
        results.append(await _irc_login(session, config, token, timeout))
        helix = Helix(session, config.api_url, config.client_id, token, timeout=timeout)
        try:
            me = await helix.users()
            users = await helix.users([config.channel.lstrip("#").lower()])
        except HelixError as exc:
            results.append(
                ("helix", False, f"{exc} (check plugins.twitch.token and plugins.twitch.client_id)")
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            results.append(("helix", False, f"cannot reach {config.api_url}: {exc}"))
        else:
            who = me[0]["login"] if me else "?"
            if not users:
                name = config.channel
                detail = f"no Twitch channel named {name!r} (check plugins.twitch.channel)"
                results.append(("helix", False, detail))
            else:
                detail = f"token belongs to {who}; channel id {users[0]['id']}"
                results.append(("helix", True, detail))
    return results


async def _irc_login(
    session: aiohttp.ClientSession, config: TwitchConfig, token: str, timeout: float
) -> tuple[str, bool, str]:
    try:
        async with asyncio.timeout(timeout):
            async with session.ws_connect(config.irc_url) as ws:
                await ws.send_str(f"CAP REQ :{CAPABILITIES}")
                await ws.send_str(f"PASS oauth:{token}")
                await ws.send_str(f"NICK {config.bot_username.lower()}")
                async for msg in ws:
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    for line in msg.data.split("\r\n"):
                        try:
                            parsed = parse_line(line)
                        except IrcParseError:
                            continue
                        if parsed.command == "001":
                            return ("irc", True, f"logged in as {config.bot_username}")
                        if parsed.command == "NOTICE" and parsed.params[:1] == ["*"]:
                            why = f"login refused: {parsed.trailing} (check plugins.twitch.token)"
                            return ("irc", False, why)
                return ("irc", False, "the server closed the connection during login")
    except TimeoutError:
        return ("irc", False, f"no answer from {config.irc_url} within {timeout:g} s")
    except (aiohttp.ClientError, OSError) as exc:
        return ("irc", False, f"cannot reach {config.irc_url}: {exc}")
