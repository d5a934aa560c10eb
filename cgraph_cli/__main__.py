"""`python -m cgraph_cli`: Ctrl-C from this first line on prints `cgraph: interrupted`, exit 130."""
from cgraph_cli import interrupt

interrupt.install()   # before the imports below (click among them)

from cgraph_cli.cli import main  # noqa: E402

main()
