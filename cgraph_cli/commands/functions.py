"""`cgraph functions`: every operator and function of the language, with its derivative rule, from the op rows."""

import difflib

import click

from cgraph_cli.commands.support import debug_option, emit, format_option
from cgraph_cli.errors import UsageError
from cgraph_cli.reference import entries
from cgraph_cli.render.functions import RENDERERS


@click.command("functions", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("names", nargs=-1, metavar="[NAME]...")
@format_option(RENDERERS, "table", "table for people, markdown for notes, json and plain for scripts.")
@debug_option
def command(names, output_format):
    """List the language: operators by precedence, and every function with its inputs, whether it
    needs tensors, its derivative rule and its convention at kinks (generated from the op rows).

    \b
    Examples:
      cgraph functions
      cgraph functions relu softmax_cross_entropy
      cgraph functions --format json | jq '.functions[] | select(.tensors_only) | .written[0]'
    """
    chosen = entries()
    if names:
        by_name = {}
        for entry in chosen:
            for key in [entry["op"]] + [text.split("(")[0].split(".")[-1] for text in entry["written"] + entry["methods"]]:
                by_name.setdefault(key, []).append(entry)
        missing = [name for name in names if name not in by_name]
        if missing:
            close = difflib.get_close_matches(missing[0], list(by_name), n=1)
            hint = f"; did you mean {close[0]}?" if close else " (cgraph functions lists them all)"
            raise UsageError(f"no function or operator named {missing[0]}{hint}")
        chosen = list({id(entry): entry for name in names for entry in by_name[name]}.values())
    emit(RENDERERS[output_format](chosen))
