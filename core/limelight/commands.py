"""Chat commands: a decorator API in the spirit of sopel, and the router that runs them.

A plugin writes::

    from limelight import command, example, hookimpl

    @command("top", aliases=("leaders",), cooldown=10)
    @example("!top 2", "Top supporters: alice 50.00 USD, bob 20.00 USD")
    async def top(ctx, call, n: int = 3) -> str:
        "The biggest supporters of the stream."
        ...

    @hookimpl
    def register_commands(register):
        register(top)

The handler gets the plugin's context and a :class:`Call` (viewer, roles, arguments, the
chat message, ``reply()``); extra parameters are parsed from the words after the command
by their type hints (``int``, ``float``, ``Decimal``, ``bool``, ``str``, ``Mention``,
``Literal[...]``; ``*words`` takes the remaining words, a keyword-only ``str`` takes the
rest of the line). A mistake answers with the usage line. A returned string is the reply.

Roles mean the same on every platform, in this order: ``viewer`` < ``subscriber`` <
``vip`` < ``moderator`` < ``broadcaster``; a command that requires a role is open to that
role and every role above it. Moderators and the broadcaster skip cooldowns.

``@example`` lines feed ``!help <command>`` and run as tests through
:func:`limelight.testing.run_examples`. A handler that raises answers a neutral message
(``[chat] error_reply``) and logs the details; the exception never reaches chat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .text import fill

if TYPE_CHECKING:
    from .chat.outbound import Outgoing
    from .chat.service import ChatService
    from .context import PluginContext
    from .events import ChatMessage, ViewerRef
    from .plugins import PluginHost

log = logging.getLogger("limelight.commands")

ROLES: tuple[str, ...] = ("viewer", "subscriber", "vip", "moderator", "broadcaster")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")


def role_rank(roles: Iterable[str]) -> int:
    return max((ROLE_RANK.get(r, 0) for r in roles), default=0)


def has_role(roles: Iterable[str], required: str) -> bool:
    """Whether someone with ``roles`` meets ``required`` (or a role above it)."""
    return role_rank(roles) >= ROLE_RANK[required]


class UsageError(Exception):
    """Raise from a handler to answer with the command's usage line and this reason."""


class Mention(str):
    """A viewer name as typed in chat; a leading ``@`` is dropped."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Example:
    """``line`` typed by ``user`` with ``roles`` must get ``reply`` (a regex if ``regex``)."""

    line: str
    reply: str | None = None
    roles: frozenset[str] = frozenset({"viewer"})
    user: str = "alice"
    regex: bool = False

    def matches(self, said: str | None) -> bool:
        if self.reply is None:
            return True
        if said is None:
            return False
        if self.regex:
            return re.fullmatch(self.reply, said) is not None
        return said == self.reply


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: str  # "word", "words" (*args) or "rest" (keyword-only: the rest of the line)
    type: Any
    required: bool
    default: Any = None


@dataclass(eq=False)
class Command:
    """A registered chat command; calling it calls the handler (handy in unit tests)."""

    name: str
    func: Callable[..., Any]
    aliases: tuple[str, ...] = ()
    role: str = "viewer"
    cooldown: float = 0.0
    user_cooldown: float = 0.0
    help: str = ""
    usage_text: str | None = None
    hidden: bool = False
    #: A locked command answers nobody until something unlocks it for a while (a milestone's
    #: ``unlock_command`` action, ``ctx.chat.router.unlock``).
    locked: bool = False
    examples: list[Example] = field(default_factory=list)
    #: True for a command read off a plugin instance (``self.top``): its handler is a bound
    #: method and is called ``(call, ...)``; a module-level handler gets ``(ctx, call, ...)``.
    bound: bool = False
    _params: list[Param] | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return self.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __get__(self, instance: object, owner: type | None = None) -> Command:
        """``@command`` on a method: reading it off the plugin instance gives the command
        bound to that instance, so the handler reaches the plugin's state as ``self``."""
        if instance is None:
            return self
        return dataclasses.replace(
            self, func=self.func.__get__(instance, owner), bound=True, _params=self.params
        )

    def with_options(
        self,
        *,
        cooldown: float | None = None,
        user_cooldown: float | None = None,
        role: str | None = None,
        aliases: Iterable[str] | None = None,
        hidden: bool | None = None,
        locked: bool | None = None,
    ) -> Command:
        """A copy with options from the plugin's config, for ``register``: e.g.
        ``register(self.hype.with_options(cooldown=self.config.hype_cooldown))``."""
        changes: dict[str, Any] = {}
        if cooldown is not None:
            changes["cooldown"] = float(cooldown)
        if user_cooldown is not None:
            changes["user_cooldown"] = float(user_cooldown)
        if role is not None:
            if role not in ROLE_RANK:
                raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
            changes["role"] = role
        if aliases is not None:
            names = tuple(a.lower() for a in aliases)
            for n in names:
                if not _NAME.match(n):
                    raise ValueError(f"invalid command name {n!r} (letters, digits, _ and -)")
            changes["aliases"] = names
        if hidden is not None:
            changes["hidden"] = hidden
        if locked is not None:
            changes["locked"] = locked
        return dataclasses.replace(self, _params=self.params, **changes)

    @property
    def params(self) -> list[Param]:
        if self._params is None:
            self._params = _params_of(self.func)
        return self._params

    def usage(self, prefix: str = "!") -> str:
        if self.usage_text is not None:
            return f"{prefix}{self.name} {self.usage_text}".strip()
        parts = [f"{prefix}{self.name}"]
        for p in self.params:
            label = p.name
            if typing.get_origin(p.type) is typing.Literal:
                label = "|".join(str(a) for a in typing.get_args(p.type))
            if p.kind in ("words", "rest"):
                label += "..."
            parts.append(f"<{label}>" if p.required else f"[{label}]")
        return " ".join(parts)


def command(
    name: str | None = None,
    *,
    aliases: Iterable[str] = (),
    role: str = "viewer",
    cooldown: float = 0.0,
    user_cooldown: float = 0.0,
    help: str | None = None,
    usage: str | None = None,
    hidden: bool = False,
) -> Callable[[Any], Command]:
    """Make ``func`` a chat command.

    :param name: what follows the prefix (default: the function's name).
    :param aliases: other names for it.
    :param role: the least role that may use it (see the module docstring).
    :param cooldown: seconds between two uses by anyone.
    :param user_cooldown: seconds between two uses by the same viewer.
    :param help: one line for ``!help <name>`` (default: the docstring's first line).
    :param usage: the argument part of the usage line (default: from the signature).
    :param hidden: leave it out of ``!help``/``!commands`` lists.
    """
    aliases = tuple(aliases)
    if role not in ROLE_RANK:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    for n in ([name.lower()] if name else []) + [a.lower() for a in aliases]:
        if not _NAME.match(n):
            raise ValueError(f"invalid command name {n!r} (letters, digits, _ and -)")

    def wrap(func: Any) -> Command:
        examples: list[Example] = []
        if isinstance(func, Command):  # @command applied over another @command: refuse
            raise TypeError(f"{func.name} is already a command")
        examples = list(getattr(func, "_limelight_examples", []))
        cname = (name or func.__name__).lower()
        for n in (cname, *aliases):
            if not _NAME.match(n):
                raise ValueError(f"invalid command name {n!r} (letters, digits, _ and -)")
        doc = inspect.getdoc(func) or ""
        cmd = Command(
            name=cname,
            func=func,
            aliases=tuple(a.lower() for a in aliases),
            role=role,
            cooldown=cooldown,
            user_cooldown=user_cooldown,
            help=help if help is not None else (doc.splitlines()[0] if doc else ""),
            usage_text=usage,
            hidden=hidden,
            examples=list(reversed(examples)),
        )
        cmd.params  # noqa: B018 - fail at import time on an unsupported signature
        return cmd

    return wrap


def example(
    line: str,
    reply: str | None = None,
    *,
    roles: Iterable[str] = ("viewer",),
    user: str = "alice",
    regex: bool = False,
) -> Callable[[Any], Any]:
    """Document a use of the command; it is shown by ``!help`` and run as a test.

    Put it under ``@command`` (or above: both orders work).
    """
    ex = Example(line, reply, frozenset(roles) | {"viewer"}, user, regex)

    def wrap(func: Any) -> Any:
        if isinstance(func, Command):
            func.examples.insert(0, ex)
            return func
        func._limelight_examples = [*getattr(func, "_limelight_examples", []), ex]
        return func

    return wrap


# -- argument parsing ----------------------------------------------------------------------


def _params_of(func: Callable[..., Any]) -> list[Param]:
    sig = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    raw = list(sig.parameters.values())
    if len(raw) < 2:
        raise TypeError(f"command handler {func.__name__} must accept (ctx, call, ...)")
    out: list[Param] = []
    for p in raw[2:]:
        hint = hints.get(p.name, str)
        has_default = p.default is not inspect.Parameter.empty
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            out.append(Param(p.name, "words", hint, False))
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            if any(q.kind == "rest" for q in out):
                raise TypeError(f"{func.__name__}: only one keyword-only (rest of line) argument")
            out.append(
                Param(p.name, "rest", hint, not has_default, p.default if has_default else None)
            )
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        else:
            out.append(
                Param(p.name, "word", hint, not has_default, p.default if has_default else None)
            )
    return out


def _convert(value: str, hint: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    if origin is typing.Literal:
        choices = [str(a) for a in typing.get_args(hint)]
        if value.lower() not in choices:
            raise UsageError(f"{name} must be one of {', '.join(choices)}")
        return value.lower()
    if hint is int:
        try:
            return int(value.replace("_", ""))
        except ValueError:
            raise UsageError(f"{name} must be a whole number") from None
    if hint is float:
        try:
            return float(value)
        except ValueError:
            raise UsageError(f"{name} must be a number") from None
    if hint is Decimal:
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise UsageError(f"{name} must be a number") from None
        if not result.is_finite():
            raise UsageError(f"{name} must be a number")
        return result
    if hint is bool:
        low = value.lower()
        if low in ("yes", "on", "true", "1"):
            return True
        if low in ("no", "off", "false", "0"):
            return False
        raise UsageError(f"{name} must be yes or no")
    if hint is Mention:
        return Mention(value.lstrip("@"))
    return value


def parse_arguments(cmd: Command, rest: str) -> tuple[list[Any], dict[str, Any]]:
    """The handler's extra arguments from the text after the command; raises UsageError."""
    words = rest.split()
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    i = 0
    for p in cmd.params:
        if p.kind == "word":
            if i < len(words):
                args.append(_convert(words[i], p.type, p.name))
                i += 1
            elif p.required:
                raise UsageError(f"{p.name} is missing")
            else:
                args.append(p.default)
        elif p.kind == "words":
            args.extend(_convert(w, p.type, p.name) for w in words[i:])
            i = len(words)
        else:  # rest of the line, as typed
            text = _rest_after(rest, i).strip()
            if not text:
                if p.required:
                    raise UsageError(f"{p.name} is missing")
                kwargs[p.name] = p.default
            else:
                kwargs[p.name] = _convert(text, p.type, p.name)
            i = len(words)
    if i < len(words):
        raise UsageError("too many arguments")
    return args, kwargs


def _rest_after(text: str, n_words: int) -> str:
    rest = text.lstrip()
    for _ in range(n_words):
        parts = rest.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    return rest


# -- one invocation ------------------------------------------------------------------------


@dataclass
class Call:
    """One use of a command: who, with which roles and arguments, in reply to what."""

    command: Command
    invoked_as: str
    message: ChatMessage
    args: list[str]
    rest: str
    service: ChatService | None = None
    replies: list[str] = field(default_factory=list)

    @property
    def viewer(self) -> ViewerRef | None:
        return self.message.viewer

    @property
    def roles(self) -> frozenset[str]:
        return self.message.roles | {"viewer"}

    @property
    def platform(self) -> str:
        return self.message.viewer.platform if self.message.viewer else ""

    @property
    def channel(self) -> str:
        return self.message.channel

    def has_role(self, role: str) -> bool:
        return has_role(self.roles, role)

    async def reply(self, text: str, *, priority: str = "normal") -> list[Outgoing]:
        """Answer in the same chat, as a reply to the message that ran the command."""
        self.replies.append(text)
        if self.service is None:
            return []
        return await self.service.say(text, reply_to=self.message, priority=priority)

    async def say(self, text: str, *, priority: str = "normal") -> list[Outgoing]:
        """Say something in the same channel, not threaded as a reply."""
        if self.service is None:
            return []
        return await self.service.say(
            text, platform=self.message.source, channel=self.message.channel, priority=priority
        )


# -- the router ----------------------------------------------------------------------------

BUILTIN_OWNER = "core"
CONFIG_OWNER = "config"
#: The commands the core itself answers (``!help``, ``!commands``): no plugin may take them.
CORE_COMMANDS = ("help", "commands")


class CommandRouter:
    """Finds the command in a chat line, checks role and cooldowns, runs it in a task."""

    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.settings = service.settings
        self.commands: dict[str, Command] = {}
        self.names: dict[str, Command] = {}
        self.owners: dict[str, str] = {}
        self._last_global: dict[str, float] = {}
        self._last_user: dict[tuple[str, str, str], float] = {}
        #: Locked commands unlocked for a while: name -> until when (wall time, UTC).
        self.unlocked: dict[str, datetime] = {}

    @property
    def prefix(self) -> str:
        return self.settings.prefix

    # -- building the table ----------------------------------------------------------------

    def build(self, host: PluginHost | None) -> None:
        self.commands.clear()
        self.names.clear()
        self.owners.clear()
        for cmd in builtin_commands():
            self.add(cmd, BUILTIN_OWNER)
        if host is not None:
            for owner, cmd in host.commands.items():
                if not isinstance(cmd, Command):
                    log.error("plugin %s registered %r, which is not a @command", owner, cmd)
                    continue
                self.add(cmd, owner)
        for cmd in config_commands(self.settings):
            self.add(cmd, CONFIG_OWNER)

    def add(self, cmd: Command, owner: str) -> bool:
        if cmd.name in self.names:
            log.error(
                "command %s%s from %s is ignored: %s already owns it",
                self.prefix,
                cmd.name,
                owner,
                self.owners.get(self.names[cmd.name].name, "?"),
            )
            return False
        self.commands[cmd.name] = cmd
        self.owners[cmd.name] = owner
        self.names[cmd.name] = cmd
        for alias in cmd.aliases:
            if alias in self.names:
                log.error(
                    "alias %s%s of %s is ignored: already taken", self.prefix, alias, cmd.name
                )
                continue
            self.names[alias] = cmd
        return True

    def unlock(self, name: str, until: datetime) -> bool:
        """Let the locked command ``name`` answer until ``until`` (extends, never shortens,
        an open unlock). Kept even before the command table is built (a plugin's
        ``startup`` putting back an unlock); False when no such command is known now."""
        cmd = self.names.get(name.lower())
        key = cmd.name if cmd is not None else name.lower()
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        current = self.unlocked.get(key)
        if current is None or until > current:
            self.unlocked[key] = until
        return cmd is not None

    def is_open(self, cmd: Command, now: datetime | None = None) -> bool:
        """Whether ``cmd`` answers now: it is not locked, or it is unlocked until later."""
        if not cmd.locked:
            return True
        until = self.unlocked.get(cmd.name)
        return until is not None and (now or datetime.now(UTC)) < until

    def visible_to(self, roles: Iterable[str]) -> list[Command]:
        rank = role_rank(roles)
        return sorted(
            (
                c
                for c in self.commands.values()
                if not c.hidden and ROLE_RANK[c.role] <= rank and self.is_open(c)
            ),
            key=lambda c: c.name,
        )

    # -- routing -----------------------------------------------------------------------------

    def parse(self, text: str) -> tuple[str, str] | None:
        """``("name", "rest of line")`` when ``text`` calls a command."""
        prefix = self.prefix
        if not text.startswith(prefix):
            return None
        body = text[len(prefix) :]
        if not body or body[0].isspace():
            return None
        parts = body.split(None, 1)
        return parts[0].lower(), (parts[1] if len(parts) > 1 else "")

    def route(self, message: ChatMessage) -> asyncio.Task[None] | None:
        """Start the command in ``message``, if there is one the viewer may use now."""
        text = message.text
        if self.settings.prefix not in text:  # most lines: one scan, no copy of the text
            return None
        parsed = self.parse(text.strip())
        if parsed is None:
            return None
        name, rest = parsed
        cmd = self.names.get(name)
        if cmd is None or not self.is_open(cmd):
            return None
        call = Call(cmd, name, message, rest.split(), rest, self.service)
        if not call.has_role(cmd.role):
            return self.service._spawn(
                call.reply(
                    f"{self.prefix}{cmd.name} is for {_plural(cmd.role)} only.", priority="low"
                ),
                f"denied:{cmd.name}",
            )
        if not self._cooldown_ok(cmd, call):
            return None
        self.service.commands_run += 1
        return self.service._spawn(self.run(cmd, call), f"command:{cmd.name}")

    def _cooldown_ok(self, cmd: Command, call: Call) -> bool:
        if not (cmd.cooldown or cmd.user_cooldown) or call.has_role("moderator"):
            return True
        now = self.service.clock.now()
        who = call.viewer.key if call.viewer else ("", "")
        user_key = (cmd.name, *who)
        if cmd.cooldown and now - self._last_global.get(cmd.name, -1e18) < cmd.cooldown:
            return False
        if cmd.user_cooldown and now - self._last_user.get(user_key, -1e18) < cmd.user_cooldown:
            return False
        self._last_global[cmd.name] = now
        self._last_user[user_key] = now
        return True

    async def run(self, cmd: Command, call: Call) -> None:
        owner = self.owners.get(cmd.name, BUILTIN_OWNER)
        host = self.service.services.host if self.service.services is not None else None
        # Core and config commands get the router as their "context" (for !help's list).
        ctx: PluginContext[Any] | CommandRouter | None = (
            host.contexts.get(owner) if host is not None else None
        )
        if owner in (BUILTIN_OWNER, CONFIG_OWNER):
            ctx = self
        try:
            args, kwargs = parse_arguments(cmd, call.rest)
            if cmd.bound:
                result = cmd.func(call, *args, **kwargs)
            else:
                result = cmd.func(ctx, call, *args, **kwargs)
            if inspect.isawaitable(result):
                async with asyncio.timeout(self.settings.command_timeout):
                    result = await result
        except UsageError as exc:
            await call.reply(f"Usage: {cmd.usage(self.prefix)} ({exc})")
            return
        except TimeoutError:
            self.service.command_errors += 1
            log.error(
                "command %s%s (plugin %s) timed out after %g s",
                self.prefix,
                cmd.name,
                owner,
                self.settings.command_timeout,
            )
            await call.reply(self.settings.error_reply)
            return
        except Exception:
            self.service.command_errors += 1
            log.exception(
                "command %s%s (plugin %s) raised; line was %r",
                self.prefix,
                cmd.name,
                owner,
                call.message.text[:200],
            )
            await call.reply(self.settings.error_reply)
            return
        if isinstance(result, str) and result.strip():
            await call.reply(result)


def _plural(role: str) -> str:
    return {"vip": "VIPs", "broadcaster": "the broadcaster"}.get(role, role + "s")


# -- built-in and configured commands ----------------------------------------------------------


def builtin_commands() -> list[Command]:
    @command("help", usage="[command]")
    @example(
        "!help help", "!help [command]: Lists the commands, or explains one. Example: !help help"
    )
    async def help_(router: CommandRouter, call: Call, name: str = "") -> str:
        """Lists the commands, or explains one."""
        if not name:
            return _command_list(router, call)
        cmd = router.names.get(name.lstrip(router.prefix).lower())
        if cmd is None or (cmd.hidden and not call.has_role("moderator")):
            return f"There is no {router.prefix}{name.lstrip(router.prefix)} command."
        text = f"{cmd.usage(router.prefix)}: {cmd.help or 'No description.'}"
        if cmd.role != "viewer":
            text += f" ({_plural(cmd.role)} only)"
        if cmd.aliases:
            text += " Also: " + ", ".join(router.prefix + a for a in cmd.aliases) + "."
        if cmd.examples:
            text += f" Example: {cmd.examples[0].line}"
        return text

    @command("commands")
    @example("!commands", r"Commands: .*!help.*", regex=True)
    async def commands_(router: CommandRouter, call: Call) -> str:
        """Lists the commands you can use."""
        return _command_list(router, call)

    return [help_, commands_]


def _command_list(router: CommandRouter, call: Call) -> str:
    names = ", ".join(router.prefix + c.name for c in router.visible_to(call.roles))
    return f"Commands: {names} — {router.prefix}help <command> for details."


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def config_commands(settings: Any) -> list[Command]:
    """Text commands from ``[chat.commands]``: ``name = "text"`` or a table with options."""
    out = []
    for name, spec in settings.commands.items():
        if isinstance(spec, str):
            text, role, cooldown, aliases, locked = spec, "viewer", 0.0, (), False
        else:
            text, role, cooldown, aliases = spec.text, spec.role, spec.cooldown, spec.aliases
            locked = spec.locked

        def make(template: str) -> Callable[..., Any]:
            async def text_command(router: CommandRouter, call: Call, *_words: str) -> str:
                values = {
                    "user": call.viewer.name if call.viewer else "",
                    "args": call.rest.strip(),
                    "channel": call.channel,
                    "platform": call.platform,
                }
                return fill(template, values)

            text_command.__doc__ = "A text command from the config."
            return text_command

        cmd = command(
            name, aliases=aliases, role=role, cooldown=cooldown, usage="", help=_short(text)
        )(make(text))
        out.append(dataclasses.replace(cmd, locked=locked) if locked else cmd)
    return out


__all__ = [
    "ROLES",
    "Call",
    "Command",
    "CommandRouter",
    "Example",
    "Mention",
    "UsageError",
    "command",
    "example",
    "has_role",
    "parse_arguments",
]
