"""Twitch for Limelight: chat (IRC over WebSocket), EventSub and Helix.

Everything is configured in ``[plugins.twitch]`` (:class:`TwitchConfig`): ``enabled``,
the bot account (``channel``, ``bot_username``, ``token``, ``client_id``), the three
endpoints and the connection fine-tuning. The token belongs in the environment
(``LIMELIGHT_PLUGINS__TWITCH__TOKEN``). See ``docs/chat.md``.
"""

from __future__ import annotations

from limelight import ChatConnectorSpec, DoctorCheck, Plugin, Register, hookimpl

from .config import TwitchConfig
from .connector import TwitchConnector
from .probe import probe

__all__ = ["TwitchConfig", "TwitchConnector", "TwitchPlugin"]

#: Seconds each step of the doctor's probe may take (IRC login, two Helix calls).
PROBE_TIMEOUT = 5.0


class TwitchPlugin(Plugin[TwitchConfig]):
    """Connects the bot to the channel when ``[plugins.twitch] enabled = true``."""

    config_model = TwitchConfig

    def make_connector(self) -> TwitchConnector | None:
        """The chat service calls this once the app runs; ``None`` while Twitch is off.

        An enabled bot without its credentials is a mistake the streamer must see, so it
        fails the connector (shown in ``/healthz`` and the dashboard) rather than staying
        silently offline."""
        if not self.config.enabled:
            return None
        problem = self.config.problem()
        if problem:
            raise ValueError(problem)
        return TwitchConnector(self.config)

    async def doctor(self) -> list[str]:
        """``limelight doctor``: can the bot log in to chat, and is the token good for
        Helix? Each problem is one line naming the key to fix; the token is never shown."""
        problem = self.config.problem()
        if problem:
            return [problem]
        results = await probe(self.config, timeout=PROBE_TIMEOUT)
        return [f"{check}: {detail}" for check, ok, detail in results if not ok]

    @hookimpl
    def register_chat_connectors(self, register: Register[ChatConnectorSpec]) -> None:
        register(ChatConnectorSpec("twitch", self.make_connector))

    @hookimpl
    def register_doctor_checks(self, register: Register[DoctorCheck]) -> None:
        # Only when switched on: a check of a bot that is meant to be off would only
        # report what the streamer chose.
        if self.config.enabled:
            register(
                DoctorCheck(
                    "Twitch chat login and Helix token",
                    self.doctor,
                    timeout=4 * PROBE_TIMEOUT,
                )
            )
