"""The core/plugin boundary for overlays: the core imports no plugin, knows no overlay by
name, and its theme holds only the base page and the page runtime; the alerts plugin's
pages ship in the plugin."""

from __future__ import annotations

import ast
from pathlib import Path

import limelight_alerts
from limelight import resources

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
THEME = resources.theme_dir()
PLUGIN = Path(limelight_alerts.__file__).parent


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_core_imports_no_plugin() -> None:
    found = []
    for path in _python_files(CORE):
        text = path.read_text("utf-8")
        if "import limelight_" in text:
            found.append(f"{path}: 'import limelight_'")
        for node in ast.walk(ast.parse(text)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute | ast.Name)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = [str(node.args[0].value)]
            found += [f"{path}:{node.lineno}: {n}" for n in names if n.startswith("limelight_")]
    assert found == []


def test_core_knows_no_overlay_by_name() -> None:
    """No ``"alerts"`` (the alerts plugin's overlay) as a default, a fallback or an index in
    the core; a dict key of that name (a counter, a template variable) is no overlay."""
    found = []
    for path in _python_files(CORE / "limelight"):
        tree = ast.parse(path.read_text("utf-8"))
        keys = {id(k) for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and node.value in ("alerts", "limelight_alerts")
                and id(node) not in keys
            ):
                found.append(f"{path}:{node.lineno}")
    assert found == []


def test_core_theme_holds_only_the_base_page_and_the_runtime() -> None:
    templates = sorted(p.name for p in (THEME / "templates").iterdir())
    assert templates == ["base.html"]
    static = sorted(p.name for p in (THEME / "static").iterdir() if p.is_file())
    assert static == ["README.md", "overlay.css", "overlay.js"]
    css = (THEME / "static" / "overlay.css").read_text("utf-8")
    for page_class in (".chat", ".board", ".goal", ".ticker"):
        assert page_class not in css


def test_the_alerts_plugin_ships_its_pages() -> None:
    for page in ("alerts", "chat", "goal", "leaderboard", "ticker"):
        template = PLUGIN / "templates" / "alerts" / f"{page}.html"
        assert template.read_text("utf-8").startswith('{% extends "templates/base.html" %}')
    for name in ("chat.js", "goal.js", "leaderboard.js", "ticker.js", "alerts.css"):
        assert (PLUGIN / "static" / name).is_file()
