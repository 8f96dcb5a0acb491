"""``limelight.orm_import``: tortoise is imported without reading its own source, and
nothing else about tortoise's comment reading changes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: A spy on ``inspect.getsource`` noting whose source is asked for (``asked``).
_SPY = """
import inspect
asked = []
real = inspect.getsource
def spy(obj):
    asked.append(getattr(obj, "__qualname__", repr(obj)))
    return real(obj)
inspect.getsource = spy
"""


def _run(code: str, *, spy: bool = False) -> str:
    env = {"PYTHONPATH": f"{ROOT / 'core'}:{ROOT / 'plugins'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", (_SPY if spy else "") + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_importing_limelight_reads_no_source_for_tortoise_own_model() -> None:
    """A fresh interpreter: with a spy on ``inspect.getsource``, ``import limelight``
    brings tortoise in without asking for ``Model``'s source, and leaves the spy in
    place; anything else asked for meanwhile (anyio builds its exports from its source)
    still gets its source."""
    out = _run(
        spy=True,
        code="""
        import limelight, tortoise.models
        import anyio
        print(inspect.getsource is spy, "Model" in asked, callable(anyio.sleep))
        """,
    )
    assert out == "True False True"


def test_without_it_tortoise_would_read_its_model_source() -> None:
    """What the module saves: importing tortoise alone asks for ``Model``'s source."""
    out = _run(
        spy=True,
        code="""
        import tortoise.models
        print("Model" in asked)
        """,
    )
    assert out == "True"


def test_a_plugin_model_still_gets_its_field_comments(tmp_path: Path) -> None:
    (tmp_path / "shouts_models.py").write_text(
        textwrap.dedent(
            """
            from tortoise import fields
            from tortoise.models import Model

            class Shout(Model):
                #: Who is shouted out
                name = fields.CharField(max_length=40)

                class Meta:
                    app = "shouts"
            """
        )
    )
    out = _run(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import limelight
        from shouts_models import Shout
        print(Shout._meta.fields_map["name"].description)
        """
    )
    assert out == "Who is shouted out"
