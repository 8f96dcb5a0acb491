"""The base class every Limelight plugin is written on (maubot's model, on pluggy).

A plugin is one class. The host creates one instance per running app, validates the
plugin's ``[plugins.<name>]`` table against :attr:`Plugin.config_model`, hands the
instance its typed :class:`~limelight.context.PluginContext` (``self.ctx``) and then
registers its ``@hookimpl`` methods. State lives on the instance, so two apps in one
process (a test suite) never share it, and every callback a plugin registers (commands,
routes, jobs, webhook providers, connectors) can be a bound method that reaches that state
and the context without globals::

    class HypeConfig(PluginConfig):
        cooldown: float = 30

    class Hype(Plugin[HypeConfig]):
        config_model = HypeConfig

        def __init__(self) -> None:
            super().__init__()
            self.level = 0

        @command("hype")
        async def hype(self, call: Call) -> str:
            self.level += 1
            return f"Hype level {self.level}!"

        @hookimpl
        def register_commands(self, register: Register[Command]) -> None:
            register(self.hype.with_options(cooldown=self.config.cooldown))

The entry point names the class: ``hype = "limelight_hype:Hype"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Generic

from .config import ConfigT, PluginConfig

if TYPE_CHECKING:
    from .context import PluginContext


class Plugin(Generic[ConfigT]):
    """Subclass this; see the module docstring."""

    #: The pydantic model of ``[plugins.<name>]`` (a :class:`PluginConfig`). Without one, the
    #: plugin takes no settings and a table for it is a config error.
    config_model: ClassVar[type[PluginConfig] | None] = None
    #: Plugins this one cannot work without (by entry-point name). A missing or failed one
    #: disables this plugin with a status that names it.
    requires: ClassVar[tuple[str, ...]] = ()

    ctx: PluginContext[ConfigT]

    def __init__(self) -> None:
        # Set by the host before any hook runs; never None inside a hook.
        pass

    @property
    def config(self) -> ConfigT:
        """The validated ``[plugins.<name>]`` settings (the defaults when the table is absent)."""
        return self.ctx.config

    @property
    def name(self) -> str:
        """The plugin's name (its entry point)."""
        return self.ctx.name


__all__ = ["Plugin"]
