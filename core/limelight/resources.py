"""Files that ship with Limelight, found both in a wheel and in a source checkout.

The wheel places the default overlay theme at ``limelight/theme`` and the example config at
``limelight/config.example.toml``; an editable checkout keeps them at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def theme_dir() -> Path:
    packaged = _PACKAGE / "theme"
    return packaged if packaged.is_dir() else _CHECKOUT / "overlays"


def example_config() -> Path:
    packaged = _PACKAGE / "config.example.toml"
    return packaged if packaged.is_file() else _CHECKOUT / "config.example.toml"
