"""Hatch hooks of the cgraph-cli build (pyproject.toml names them).

- TablesHook (wheel): generates the LALR tables from grammar/cgraph.lark into the wheel as
  cgraph_cli/parse_tables.json, with the grammar's SHA-256, so an installed cgraph reads them and
  never writes a file. The code that builds them is cgraph_cli/parse_tables.py, the same that
  builds a checkout's cached tables. An editable install gets none: it keeps the user cache.
- ReadmeHook (metadata): the long description is README.md with its pictures, whose relative paths
  would not show on a package page, replaced by a sentence naming the file.
"""

import importlib.util
import json
import re
import shutil
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

ROOT = Path(__file__).resolve().parent
PICTURE = re.compile(r"!\[([^\]]*)\]\((?!https?://)([^)\s]+)\)")
LINK = re.compile(r"\[([^\]]*)\]\((?!https?://|#)([^)\s]+)\)")


def parse_tables_module(root: Path = ROOT):
    """cgraph_cli/parse_tables.py loaded by path (importing cgraph_cli is not needed to build)."""
    spec = importlib.util.spec_from_file_location("_cgraph_parse_tables", root / "cgraph_cli" / "parse_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def long_description(readme: str) -> str:
    """README text for a package page: a relative picture becomes a sentence, a relative link its text."""
    readme = PICTURE.sub(lambda m: f"*(Picture: {m.group(1)}; the file {m.group(2)} in the source "
                                   "distribution.)*", readme)
    return LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)} in the source distribution)", readme)


class TablesHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if version == "editable":   # an editable install reads the checkout: the user cache serves it
            return
        tables = parse_tables_module(Path(self.root))
        grammar = (Path(self.root) / "grammar" / "cgraph.lark").read_text(encoding="utf-8")
        self._directory = tempfile.mkdtemp(prefix="cgraph-tables-")
        path = Path(self._directory) / "parse_tables.json"
        path.write_text(json.dumps(tables.build(grammar), separators=(",", ":")), encoding="utf-8")
        build_data["force_include"][str(path)] = tables.PACKAGED_NAME

    def finalize(self, version, build_data, artifact_path):
        directory = getattr(self, "_directory", None)
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


class ReadmeHook(MetadataHookInterface):
    PLUGIN_NAME = "custom"

    def update(self, metadata):
        readme = (Path(self.root) / "README.md").read_text(encoding="utf-8")
        metadata["readme"] = {"content-type": "text/markdown", "text": long_description(readme)}
