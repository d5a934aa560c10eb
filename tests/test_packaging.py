"""The wheel ships the grammar, so a plain `pip install .` works without the checkout."""

import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_grammar(tmp_path):
    wheel_builder = pytest.importorskip("hatchling.builders.wheel")
    builder = wheel_builder.WheelBuilder(str(ROOT))
    wheels = list(builder.build(directory=str(tmp_path), versions=["standard"]))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "cgraph_cli/grammar/cgraph.lark" in names
    packaged = zipfile.ZipFile(wheels[0]).read("cgraph_cli/grammar/cgraph.lark").decode()
    assert packaged == (ROOT / "grammar" / "cgraph.lark").read_text()
    assert any(name.endswith("entry_points.txt") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "cgraph = cgraph_cli.cli:main" in zipfile.ZipFile(wheels[0]).read(entry_points).decode()
