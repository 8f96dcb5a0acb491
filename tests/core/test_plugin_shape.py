"""Every built-in plugin has the documented shape: one Plugin class per entry point, and no
module-level mutable state anywhere in its package.

Why: third-party authors copy the built-ins. State in a module outlives the app that made
it (two test servers in one process would share it); state on the instance does not.
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import importlib.metadata as md
import pkgutil
import weakref
from types import ModuleType

import pytest
from limelight import Plugin

BUILTINS = sorted(
    ep
    for ep in md.entry_points(group="limelight")
    if ep.dist is not None and ep.dist.name == "limelight"
)
MUTABLE = (
    list,
    dict,
    set,
    bytearray,
    collections.deque,
    weakref.WeakKeyDictionary,
    weakref.WeakValueDictionary,
    asyncio.Event,
    asyncio.Lock,
    asyncio.Queue,
)


def _modules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations" in info.name:
            continue
        found.append(importlib.import_module(info.name))
    return found


def test_every_builtin_is_listed() -> None:
    assert {ep.name for ep in BUILTINS} >= {"alerts", "console", "tips", "twitch"}


@pytest.mark.parametrize("ep", BUILTINS, ids=lambda ep: ep.name)
def test_builtin_entry_point_names_a_plugin_class(ep: md.EntryPoint) -> None:
    obj = ep.load()
    assert isinstance(obj, type) and issubclass(obj, Plugin), f"{ep.value} is not a Plugin"


@pytest.mark.parametrize("ep", BUILTINS, ids=lambda ep: ep.name)
def test_builtin_package_has_no_module_level_mutable_state(ep: md.EntryPoint) -> None:
    package = importlib.import_module(ep.value.split(":")[0])
    offenders = []
    for module in _modules(package):
        for name, value in vars(module).items():
            if name.startswith("__") or name.isupper() or name.lstrip("_").isupper():
                continue  # dunders and CONSTANTS
            if isinstance(value, MUTABLE):
                offenders.append(f"{module.__name__}.{name} ({type(value).__name__})")
    assert not offenders, "module-level mutable state: " + ", ".join(offenders)
