"""The LALR(1) tables of grammar/cgraph.lark as JSON data for grammar.py's driver: the one place
they are made, for both ways cgraph gets them.

- An installed wheel: hatch_build.py runs `build` at build time and ships the result as
  cgraph_cli/parse_tables.json, stamped with the grammar's SHA-256 and FORMAT. A start reads it;
  nothing is written.
- A checkout or an editable install (no packaged file, or a stale one): the tables are built by
  Lark on the first start and cached in the user's cache directory (~/.cache/cgraph, or
  $XDG_CACHE_HOME/cgraph; CGRAPH_NO_CACHE=1 builds them on every start and writes nothing).

This module imports only the standard library (and Lark when it builds), so the build hook can
load it by path without importing cgraph_cli.
"""

import hashlib
import json
import os
from pathlib import Path

FORMAT = 3   # bump when export_tables changes what it writes
PACKAGED = Path(__file__).resolve().with_name("parse_tables.json")   # only in a built wheel
PACKAGED_NAME = "cgraph_cli/parse_tables.json"                         # its path inside the wheel


def digest(grammar: str) -> str:
    return hashlib.sha256(grammar.encode()).hexdigest()


def lark_parser(grammar: str, transformer=None, postlex=None):
    """Lark's own LALR parser for the grammar: the tables' source, and the reference the driver is
    tested against (a post-lexer does not change the tables)."""
    from lark import Lark

    return Lark(grammar, parser="lalr", lexer="basic", postlex=postlex, propagate_positions=True,
                transformer=transformer, maybe_placeholders=False)


def build(grammar: str) -> dict:
    """The tables Lark builds from the grammar text."""
    return export_tables(lark_parser(grammar), grammar)


def export_tables(lark, grammar: str) -> dict:
    """The parse tables Lark built, as plain JSON-able data for the driver."""
    table = lark.parser.parser.parser.parse_table
    rules, rule_index = [], {}
    states = {}
    for state, actions in table.states.items():
        row = {}
        for symbol, (action, arg) in actions.items():
            if action.name == "Shift":
                row[symbol] = arg
            else:
                if id(arg) not in rule_index:
                    rule_index[id(arg)] = len(rules)
                    rules.append(_export_rule(arg))
                row[symbol] = ~rule_index[id(arg)]
        states[state] = row
    terminals = sorted(lark.terminals, key=lambda t: (-t.priority, -t.pattern.max_width,
                                                       -len(t.pattern.value), t.name))
    # Python's regex alternation takes the first branch that matches, like Lark's basic lexer.
    return {
        "format": FORMAT,
        "grammar_sha256": digest(grammar),
        "start": table.start_states["start"],
        "states": [states[i] for i in range(len(states))],
        "rules": rules,
        "terminals": [[t.name, t.pattern.to_regexp()] for t in terminals],
        "ignore": list(lark.ignore_tokens),
    }


def _export_rule(rule) -> list:
    """[origin, size, kind, callback, kept positions, spliced positions].

    kind: pass (a `?rule` with one child), call (an AstBuilder method), or splice (an `_rule`,
    whose children are spliced into the rule using it, as Lark inlines them)."""
    kept = [i for i, symbol in enumerate(rule.expansion)
            if not (symbol.is_term and symbol.filter_out)]
    spliced = [i for i in kept if not rule.expansion[i].is_term and rule.expansion[i].name.startswith("_")]
    origin = rule.origin.name
    if origin.startswith("_"):
        kind = "splice"
    elif rule.options.expand1 and len(kept) == 1 and not rule.alias:
        kind = "pass"
    else:
        kind = "call"
    return [str(origin), len(rule.expansion), kind, str(rule.alias or origin), kept, spliced]


def cache_file(grammar: str, version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cgraph" / f"parser-{FORMAT}-{version}-{digest(grammar)[:16]}.json"


def _read(path: Path, sha: str):
    """The tables in `path` when they are of this FORMAT and for this grammar, else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("format") == FORMAT and data.get("grammar_sha256") == sha:
        return data
    return None


def load(grammar: str, version: str) -> dict:
    """The tables for the grammar text: packaged, else from the user's cache, else built (and cached)."""
    sha = digest(grammar)
    data = _read(PACKAGED, sha)
    if data is not None:
        return data
    use_cache = not os.environ.get("CGRAPH_NO_CACHE")
    path = cache_file(grammar, version)
    if use_cache:
        data = _read(path, sha)
        if data is not None:
            return data
    data = build(grammar)
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(data), encoding="utf-8")
            os.replace(temporary, path)
        except OSError:
            pass  # a read-only home only costs the table build on every start
    return data
