"""Every hook is documented in docs/hooks.md and has a test of its own.

A hook's test is any test function under ``tests/`` whose name contains ``hook_<name>``
(for example ``test_hook_on_event_receives_each_event_once``). Add a hook to
``hookspecs.py`` and this fails until both exist; remove one and the stale section fails too.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from limelight import hookspecs

TESTS = Path(__file__).resolve().parent.parent
DOCS = TESTS.parent / "docs" / "hooks.md"


def hook_names() -> list[str]:
    return sorted(
        name
        for name, obj in vars(hookspecs).items()
        if inspect.isfunction(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")
    )


def documented() -> set[str]:
    """Hooks with a ``### `name(...)``` section in docs/hooks.md."""
    return set(re.findall(r"^###\s+`(\w+)\(", DOCS.read_text(encoding="utf-8"), re.MULTILINE))


def collect_test_names() -> set[str]:
    names: set[str] = set()
    for path in TESTS.rglob("*.py"):
        if "fixtures" in path.relative_to(TESTS).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test"
            ):
                names.add(node.name)
    return names


def test_there_are_hooks() -> None:
    assert len(hook_names()) >= 14


@pytest.mark.parametrize("hook", hook_names())
def test_hook_is_documented(hook: str) -> None:
    assert hook in documented(), f"docs/hooks.md has no '### `{hook}(...)`' section"


@pytest.mark.parametrize("hook", hook_names())
def test_hook_has_a_test(hook: str) -> None:
    pattern = re.compile(rf"hook_{hook}(?![a-z])")
    found = [n for n in collect_test_names() if pattern.search(n)]
    assert found, f"no test function under tests/ has 'hook_{hook}' in its name"


def test_docs_describe_no_hook_that_does_not_exist() -> None:
    stale = documented() - set(hook_names())
    assert not stale, f"docs/hooks.md documents hooks that hookspecs.py lacks: {sorted(stale)}"


@pytest.mark.parametrize("hook", hook_names())
def test_hookspec_is_typed_and_has_a_docstring(hook: str) -> None:
    func = getattr(hookspecs, hook)
    assert inspect.getdoc(func), f"{hook} has no docstring"
    signature = inspect.signature(func)
    assert signature.return_annotation is not inspect.Signature.empty, f"{hook}: no return type"
    for param in signature.parameters.values():
        assert param.annotation is not inspect.Parameter.empty, f"{hook}({param.name}) untyped"
