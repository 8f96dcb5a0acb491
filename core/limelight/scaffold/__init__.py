"""``limelight plugin new NAME``: a ready package for a third-party plugin.

The package it writes installs, passes its own tests with the test kit and passes
``mypy --strict`` exactly as generated (``tests/core/test_scaffold.py`` proves it), so a
plugin author starts from something that works and changes it, instead of assembling the
entry point, the typed config, the migrations package and the tests from the docs.

The files are ``string.Template`` texts under ``template/`` (``${name}`` placeholders, so
the Python and TOML braces in them need no escaping).
"""

from __future__ import annotations

import importlib.metadata as md
import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from .. import __version__
from ..commands import CORE_COMMANDS

#: A plugin name: what streamers write in ``[plugins.<name>]`` and ``LIMELIGHT_PLUGINS``,
#: the chat command ``!<name>`` and the module ``limelight_<name>``.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

#: (template, target) pairs; the targets are ``str.format`` patterns over the names.
FILES: tuple[tuple[str, str], ...] = (
    ("pyproject.toml.tmpl", "pyproject.toml"),
    ("README.md.tmpl", "README.md"),
    ("gitignore.tmpl", ".gitignore"),
    ("package/__init__.py.tmpl", "{module}/__init__.py"),
    ("package/models.py.tmpl", "{module}/models.py"),
    ("package/py.typed.tmpl", "{module}/py.typed"),
    ("package/migrations/__init__.py.tmpl", "{module}/migrations/__init__.py"),
    ("package/migrations/0001_initial.py.tmpl", "{module}/migrations/0001_initial.py"),
    ("tests/test_plugin.py.tmpl", "tests/test_{name}.py"),
)


class ScaffoldError(ValueError):
    """The name is not usable or the target exists; the message says which and why."""


@dataclass(frozen=True)
class Names:
    """Every spelling of one plugin name the files use."""

    name: str

    @property
    def dist(self) -> str:
        """The distribution (and folder) name: ``limelight-<name>``, PEP 503 style."""
        return "limelight-" + self.name.replace("_", "-")

    @property
    def module(self) -> str:
        return f"limelight_{self.name}"

    @property
    def title(self) -> str:
        return " ".join(part.capitalize() for part in self.name.split("_") if part)

    @property
    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_") if part)

    @property
    def cls(self) -> str:
        return f"{self.camel}Plugin"

    @property
    def config(self) -> str:
        return f"{self.camel}Config"

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "dist": self.dist,
            "module": self.module,
            "title": self.title,
            "cls": self.cls,
            "config": self.config,
            "limelight_version": __version__,
        }


def check_name(name: str) -> Names:
    """The names for ``name``, or :class:`ScaffoldError` saying what is wrong with it."""
    if not NAME.match(name) or name.endswith("_") or "__" in name:
        raise ScaffoldError(
            f"plugin name {name!r}: use a lowercase identifier (a letter, then letters, "
            "digits or single underscores, at most 31 characters), e.g. hype or song_queue"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"plugin name {name!r} is a Python keyword")
    if name in CORE_COMMANDS:  # a plugin registering one would be refused
        raise ScaffoldError(f"plugin name {name!r}: !{name} is a command of Limelight itself")
    installed = {ep.name: ep for ep in md.entry_points(group="limelight")}
    if name in installed:
        dist = installed[name].dist
        where = f" (from {dist.name} {dist.version})" if dist is not None else ""
        raise ScaffoldError(f"plugin name {name!r} is taken by an installed plugin{where}")
    return Names(name)


def render(names: Names) -> dict[str, str]:
    """Every file of the package, by its path relative to the package folder."""
    root = resources.files(__package__) / "template"
    values = names.values()
    out: dict[str, str] = {}
    for template, target in FILES:
        text = root.joinpath(*template.split("/")).read_text(encoding="utf-8")
        out[target.format(**values)] = Template(text).substitute(values)
    return out


def create(name: str, directory: Path) -> tuple[Path, list[Path]]:
    """Write ``<directory>/limelight-<name>/``; returns the folder and the files written.

    Never overwrites: an existing folder of that name is an error, before anything is
    written."""
    names = check_name(name)
    target = directory / names.dist
    if target.exists():
        raise ScaffoldError(f"{target} already exists; nothing was written")
    files = render(names)
    written: list[Path] = []
    target.mkdir(parents=True)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:  # "x": never overwrite
            out.write(text)
        written.append(path)
    return target, written


__all__ = ["FILES", "NAME", "Names", "ScaffoldError", "check_name", "create", "render"]
