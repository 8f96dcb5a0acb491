"""The shipped migrations of the core and of every built-in plugin are one chain each and
match their models.

Two migrations with the same parent (two branches merged side by side, both numbered
0007) apply in an order nobody chose; a model changed without a migration breaks every
existing database at the next start. Both are caught here, before a streamer's database
sees them.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.procs import clean_env

ROOT = Path(__file__).resolve().parents[2]

#: app label -> package directory, as each registers itself through ``register_models``.
APPS = {
    "limelight": ROOT / "core" / "limelight",
    **{
        path.name.removeprefix("limelight_"): path
        for path in sorted((ROOT / "plugins").glob("limelight_*"))
        if (path / "migrations").is_dir()
    },
}


def _dependencies(path: Path) -> list[tuple[str, str]]:
    """The ``dependencies`` list of one migration file, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "dependencies" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            return [tuple(dep) for dep in value]
    return []


@pytest.mark.parametrize("app", sorted(APPS))
def test_migrations_form_one_numbered_chain(app: str) -> None:
    files = sorted(p for p in (APPS[app] / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert files, f"{app} ships no migration"
    numbers = [p.name[:4] for p in files]
    assert len(set(numbers)) == len(numbers), f"{app}: two migrations share a number: {numbers}"
    previous: str | None = None
    for path in files:
        own = [name for dep_app, name in _dependencies(path) if dep_app == app]
        expected = [previous] if previous else []
        assert own == expected, f"{app}/{path.name} depends on {own}, expected {expected}"
        previous = path.stem


def test_makemigrations_finds_nothing_to_add(tmp_path: Path) -> None:
    """tortoise's own ``makemigrations`` over every app at once reports no change."""
    packages = tmp_path / "packages"
    packages.mkdir()
    for path in APPS.values():
        shutil.copytree(path, packages / path.name, ignore=shutil.ignore_patterns("__pycache__"))
    apps = ", ".join(
        f'"{app}": {{"models": ["{path.name}.models"], "migrations": "{path.name}.migrations"}}'
        for app, path in APPS.items()
    )
    (tmp_path / "check_tortoise.py").write_text(
        f'TORTOISE = {{"connections": {{"default": "sqlite://{tmp_path / "m.sqlite3"}"}}, '
        f'"apps": {{{apps}}}}}\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "tortoise", "-c", "check_tortoise.TORTOISE", "makemigrations"],
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=f"{packages}:{tmp_path}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout, result.stdout
