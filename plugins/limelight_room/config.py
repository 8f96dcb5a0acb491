"""``[plugins.room]``: who may enter the members' room and how it behaves.

Every key is documented in config.example.toml and docs/room.md.
"""

from __future__ import annotations

from limelight import PluginConfig
from pydantic import Field


class RoomConfig(PluginConfig):
    """``[plugins.room]``."""

    #: VIP tiers whose members may enter the room and read posts; empty = every tier.
    tiers: list[str] = []
    #: Name the bot's replies carry in the room.
    bot_name: str = "Limelight"
    #: Lines a member sees when entering (the newest ones) and the room overlay's source;
    #: kept in the database across restarts (pruned to this many).
    history: int = Field(default=50, ge=0, le=500)
    #: Longest room message, in characters.
    max_message: int = Field(default=500, ge=1, le=2000)
    #: Messages a member may send per 10 seconds (more are refused with a notice).
    rate: int = Field(default=5, ge=1, le=100)
    #: Platform chat moderators and the broadcaster moderate the room too (delete, time out).
    platform_moderators: bool = True
    #: More room moderators, as "platform:user id" (say "twitch:12345").
    moderators: list[str] = []
    #: Default time-out from the room, in seconds.
    timeout_seconds: int = Field(default=600, ge=1, le=14 * 86400)
    #: What !room whispers; {link} is the personal link, {name} the member's name.
    whisper_text: str = "Your members' room: {link} (personal, do not share)"
    #: What the bot says in chat when a post is announced; {title}, {command}.
    announce_text: str = "New for members: {title}. Members get the link with {command}"
    #: Seconds a line stays on the room overlay (0: until pushed out by newer ones).
    overlay_seconds: int = Field(default=60, ge=0, le=3600)
    #: Lines the room overlay shows at most.
    overlay_lines: int = Field(default=6, ge=1, le=30)
    #: Messages a connection may have waiting; a client that falls this far behind (a
    #: phone on a bad network) is disconnected and reconnects, the others never wait.
    client_queue: int = Field(default=100, ge=10, le=10000)
