"""Twitch for Limelight: chat (IRC over WebSocket), EventSub and Helix.

Turned on and configured by the ``[twitch]`` section (``enabled``, ``channel``,
``bot_username``, ``token``, ``client_id``, the three URLs); fine-tuning lives in
``[plugins.twitch]`` (:class:`TwitchOptions`). See ``docs/chat.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from limelight import ChatConnectorSpec, ConfigModel, PluginConfig, hookimpl
from pydantic import Field

from .connector import TwitchConnector

__all__ = ["TwitchConnector", "TwitchOptions"]


class TwitchOptions(PluginConfig):
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


@hookimpl
def register_config_model(register: Callable[[ConfigModel], None]) -> None:
    register(ConfigModel(TwitchOptions))


def make_connector(ctx: Any) -> TwitchConnector | None:
    settings = ctx.settings.twitch
    if not settings.enabled:
        return None
    missing = [
        k for k in ("channel", "bot_username", "token", "client_id") if not getattr(settings, k)
    ]
    if missing:
        raise ValueError(
            "[twitch] is enabled but " + ", ".join(f"twitch.{k}" for k in missing) + " is empty"
        )
    return TwitchConnector(settings, ctx.config or TwitchOptions())


@hookimpl
def register_chat_connectors(register: Callable[[ChatConnectorSpec], None]) -> None:
    register(ChatConnectorSpec("twitch", make_connector))
