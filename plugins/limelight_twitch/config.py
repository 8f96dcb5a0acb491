"""``[plugins.twitch]``: the Twitch plugin's whole configuration, in one table.

The account keys (``channel``, ``bot_username``, ``token``, ``client_id``) and the three
endpoints used to be the core's ``[twitch]`` section; they live here now so the core knows
nothing about Twitch. The token belongs in the environment:
``LIMELIGHT_PLUGINS__TWITCH__TOKEN=...``.
"""

from __future__ import annotations

from typing import Literal

from limelight import PluginConfig
from pydantic import Field

#: The keys a bot cannot log in without, in the order a streamer fills them in.
REQUIRED = ("channel", "bot_username", "token", "client_id")


class TwitchConfig(PluginConfig):
    #: Connect the bot to Twitch chat (IRC over WebSocket) and EventSub.
    enabled: bool = False
    #: Channel to join (without ``#``) and the bot account's login.
    channel: str = ""
    bot_username: str = ""
    #: OAuth user access token of the bot; a secret (redacted from logs, never echoed).
    token: str = ""
    client_id: str = ""
    #: Numeric user id of the broadcaster (looked up through Helix when empty).
    broadcaster_id: str = ""
    #: Endpoints; they exist so tests can point them at local fakes.
    irc_url: str = "wss://irc-ws.chat.twitch.tv:443"
    eventsub_url: str = "wss://eventsub.wss.twitch.tv/ws"
    api_url: str = "https://api.twitch.tv/helix"
    #: "helix" (Twitch's recommended way; falls back to IRC when Helix is down) or "irc".
    send_via: Literal["helix", "irc"] = "helix"
    #: Subscribe to EventSub for cheers, subs, gifts and charity (needs the scopes).
    eventsub: bool = True
    #: Reconnect backoff bounds, in seconds (jittered, doubling).
    reconnect_min: float = Field(1.0, gt=0)
    reconnect_max: float = Field(120.0, gt=0)
    #: Seconds without a line before we PING, and to wait for the PONG.
    ping_after: float = Field(300.0, gt=0)
    pong_timeout: float = Field(15.0, gt=0)
    #: Seconds to wait for the login (001) or the EventSub welcome.
    login_timeout: float = Field(15.0, gt=0)
    #: Extra seconds past EventSub's keepalive_timeout_seconds before the socket is dead.
    keepalive_grace: float = Field(5.0, ge=0)
    #: Seconds within which the IRC and EventSub reports of one thing are matched.
    correlation_window: float = Field(120.0, gt=0)
    #: EventSub messages older than this (seconds) are rejected as replays.
    max_message_age: float = Field(600.0, gt=0)
    #: Where emote pictures are drawn from (``{id}``: the emote's id). Overlays load them
    #: only from hosts in ``[overlays] image_hosts``.
    emote_url: str = "https://static-cdn.jtvnw.net/emoticons/v2/{id}/default/dark/2.0"

    def missing(self) -> list[str]:
        """The required keys left empty, as ``plugins.twitch.<key>`` (for one-line errors)."""
        return [f"plugins.twitch.{k}" for k in REQUIRED if not getattr(self, k)]

    def problem(self) -> str:
        """Why an enabled bot cannot log in from this config ("" when it can try)."""
        missing = self.missing()
        if not self.enabled or not missing:
            return ""
        verb = "is" if len(missing) == 1 else "are"
        return f"[plugins.twitch] is enabled but {', '.join(missing)} {verb} empty"


__all__ = ["REQUIRED", "TwitchConfig"]
