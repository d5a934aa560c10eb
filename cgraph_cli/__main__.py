"""`python -m cgraph_cli`: Ctrl-C from this first line on prints `cgraph: interrupted`, exit 130."""
import gc

from cgraph_cli import interrupt

interrupt.install()   # before the imports below (click among them)
gc.disable()          # as for the console script (cli.py): no collector passes while importing

from cgraph_cli.cli import main  # noqa: E402

main()
