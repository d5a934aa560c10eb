"""What the distribution cgraph-cli ships: the wheel (grammar, LALR tables, schemas, LICENSE, metadata)
and the sdist (everything its tests need). The sdist round trip itself (build, unpack, install with
the test extras, run the suite) is a step of .ci/run, on the oldest Python present."""

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from cgraph_cli import __version__, parse_tables

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = (ROOT / "grammar" / "cgraph.lark").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    builder = pytest.importorskip("hatchling.builders.wheel").WheelBuilder(str(ROOT))
    wheels = list(builder.build(directory=str(tmp_path_factory.mktemp("wheel")), versions=["standard"]))
    assert len(wheels) == 1
    return Path(wheels[0])


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    builder = pytest.importorskip("hatchling.builders.sdist").SdistBuilder(str(ROOT))
    sdists = list(builder.build(directory=str(tmp_path_factory.mktemp("sdist")), versions=["standard"]))
    assert len(sdists) == 1
    return Path(sdists[0])


def test_wheel_contains_the_grammar_and_the_command(wheel):
    assert wheel.name == f"cgraph_cli-{__version__}-py3-none-any.whl"
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert archive.read("cgraph_cli/grammar/cgraph.lark").decode() == GRAMMAR
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "cgraph = cgraph_cli.cli:main" in archive.read(entry_points).decode()


def test_wheel_ships_the_lalr_tables_of_its_grammar(wheel):
    data = json.loads(zipfile.ZipFile(wheel).read(parse_tables.PACKAGED_NAME))
    assert data["grammar_sha256"] == hashlib.sha256(GRAMMAR.encode()).hexdigest()
    assert data["format"] == parse_tables.FORMAT
    assert equivalent(data, parse_tables.build(GRAMMAR))   # the same module built both


def test_wheel_ships_the_license_the_schemas_and_the_metadata(wheel):
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    license_text = archive.read(next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))).decode()
    assert license_text == (ROOT / "LICENSE").read_text() and "MIT License" in license_text
    assert "Copyright (c) the cgraph authors" in license_text
    schemas = {Path(n).name for n in names if n.startswith("cgraph_cli/schemas/")}
    assert schemas == {path.name for path in (ROOT / "cgraph_cli" / "schemas").glob("*.json")} and schemas
    metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    head, _, description = metadata.partition("\n\n")
    assert "Name: cgraph-cli\n" in head and "Author: the cgraph authors" in head
    assert "License-Expression: MIT" in head and "Keywords: " in head
    for classifier in ("Environment :: Console", "Topic :: Education", "Topic :: Scientific/Engineering :: Mathematics",
                       "Programming Language :: Python :: 3.10", "Programming Language :: Python :: 3.13"):
        assert f"Classifier: {classifier}\n" in head
    assert "Requires-Dist: click>=8.2" in head
    # the README, without pictures or links by relative path (a package page cannot show them)
    assert description.startswith("# cgraph\n") and "cgraph eval" in description
    assert not re.search(r"\]\((?!https?://|#)[^)]+\)", description), "a relative link is left"
    assert "docs/neuron.png" in description   # described in text instead


def tracked_files():
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked sdist): nothing to compare the sdist with")
    return [line for line in listed.stdout.splitlines() if (ROOT / line).is_file()]


def test_sdist_holds_everything_its_tests_need(sdist):
    with tarfile.open(sdist) as archive:
        top = f"cgraph_cli-{__version__}/"
        names = {name.removeprefix(top) for name in archive.getnames()}
    for required in ("pyproject.toml", "hatch_build.py", "LICENSE", "README.md", "grammar/cgraph.lark",
                     "examples/regression/data.csv", "examples/course-check/cases.toml", "tests/conftest.py"):
        assert required in names, required
    needed = [path for path in tracked_files()
              if path.split("/")[0] in ("cgraph_cli", "grammar", "tests", "bench", "examples", "docs")]
    missing = sorted(set(needed) - names)
    assert not missing, missing


def test_every_install_hint_names_the_distribution_cgraph_cli():
    """PyPI's `cgraph` is someone else's package: no hint may say `pip install cgraph` or `cgraph[...]`."""
    for path in (ROOT / "cgraph_cli").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install ['\"]?cgraph\b(?!-cli)", text), path
        assert not re.search(r"\bcgraph\[", text), path
    assert "pip install 'cgraph-cli[plot]'" in (ROOT / "cgraph_cli" / "render" / "minimize.py").read_text()


def _run_unpacked(site: Path, home: Path, *args):
    """`python -m cgraph_cli ARGS` with only the unpacked wheel `site` ahead of the installed deps."""
    env = {key: value for key, value in os.environ.items() if key not in ("CGRAPH_NO_CACHE", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, *map(str, args)], cwd=home, env=env, capture_output=True, text=True, timeout=120)


def test_an_installed_cgraph_reads_its_tables_and_writes_no_file(wheel, tmp_path):
    site, home = tmp_path / "site", tmp_path / "home"
    home.mkdir()
    zipfile.ZipFile(wheel).extractall(site)
    where = _run_unpacked(site, home, "-c", "import cgraph_cli; print(cgraph_cli.__file__)")
    assert where.stdout.strip() == str(site / "cgraph_cli" / "__init__.py"), where
    # a tensor literal: fastparse leaves it to the LALR driver, which needs the tables
    done = _run_unpacked(site, home, "-X", "importtime", "-m", "cgraph_cli", "eval", "sum([x, y])^2", "--x", 1,
                         "--y", 3, "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == 16, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "cgraph_cli.grammar" in imported and "lark" not in imported   # the tables came built
    assert list(home.rglob("*")) == [], list(home.rglob("*"))

    # stale packaged tables (another grammar's): the user cache takes over, as in a checkout
    tables = site / parse_tables.PACKAGED_NAME
    tables.write_text(json.dumps({**json.loads(tables.read_text()), "grammar_sha256": "0" * 64}))
    done = _run_unpacked(site, home, "-m", "cgraph_cli", "eval", "sum([x, y])^2", "--x", 1, "--y", 3, "--format",
                         "json")
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == 16, done.stderr[-2000:]
    assert [path.name for path in (home / "cache" / "cgraph").iterdir()] == [
        parse_tables.cache_file(GRAMMAR, __version__).name]


def test_missing_or_stale_packaged_tables_fall_back_to_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CGRAPH_NO_CACHE", raising=False)
    packaged = tmp_path / "parse_tables.json"
    monkeypatch.setattr(parse_tables, "PACKAGED", packaged)
    built = parse_tables.build(GRAMMAR)
    for planted in (None, {**built, "grammar_sha256": "0" * 64}, {**built, "format": parse_tables.FORMAT - 1}):
        if planted is not None:
            packaged.write_text(json.dumps(planted))
        cache = parse_tables.cache_file(GRAMMAR, __version__)
        cache.unlink(missing_ok=True)
        assert parse_tables.load(GRAMMAR, __version__)["grammar_sha256"] == built["grammar_sha256"]
        assert cache.is_file()
    # fresh packaged tables are read and nothing is written
    packaged.write_text(json.dumps({**built, "states": built["states"], "marker": 1}))
    cache.unlink()
    assert parse_tables.load(GRAMMAR, __version__)["marker"] == 1
    assert not cache.exists()


def test_the_tables_do_not_depend_on_the_post_lexer():
    """The wheel's tables are built without grammar.py's post-lexer (the hook does not import cgraph_cli)."""
    from cgraph_cli.grammar import export_tables, lark_parser

    assert equivalent(export_tables(lark_parser()), parse_tables.build(GRAMMAR))


def equivalent(a: dict, b: dict) -> bool:
    """The same tables up to Lark's numbering of states (which can change from build to build):
    the same rules, terminals and state count, and the driver gives the same trees with both."""
    from cgraph_cli.grammar import Parser

    same = ({k: v for k, v in a.items() if k not in ("states", "start", "rules")}
            == {k: v for k, v in b.items() if k not in ("states", "start", "rules")})
    same &= sorted(map(json.dumps, a["rules"])) == sorted(map(json.dumps, b["rules"])) and len(a["states"]) == len(b["states"])
    for text in ("a = 2; a * (3 + b)", "sum(W @ x, axis=0)[1] ^ -2 ** 2 >= relu(y).T", "f = x\n+ y\n f += 1"):
        same &= repr(Parser(a).parse(text)) == repr(Parser(b).parse(text))
    return same
