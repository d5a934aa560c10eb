"""`python -m cgraph_cli`: Ctrl-C from this first line on prints `cgraph: interrupted`, exit 130."""
import os
import signal


def _interrupted_at_start(signum, frame):
    os.write(2, b"cgraph: interrupted\n")
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_at_start)   # before the imports below (click among them)
if hasattr(signal, "pthread_sigmask"):   # a Ctrl-C held back (blocked) until now arrives here
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

from cgraph_cli.cli import main  # noqa: E402

main()
