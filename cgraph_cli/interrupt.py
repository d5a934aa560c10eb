"""Ctrl-C while cgraph is still loading: `cgraph: interrupted` and exit 130, never a traceback.

The entry points call `install()` first, before click and the rest are imported. `_signal` is the C
module under `signal`: the same functions without building signal's enums (a few milliseconds of
start-up that every call from a shell script would pay).
"""

import os
import sys

import _signal


def interrupted_at_start(signum, frame):
    os.write(2, b"cgraph: interrupted\n")
    os._exit(130)


def _unraisable(unraisable) -> None:
    """A Ctrl-C raised where Python cannot propagate it (on 3.10, in the weakref callback of an import
    lock) would print `Exception ignored ... Traceback` and be lost: it ends the run as Ctrl-C does."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        interrupted_at_start(None, None)
    sys.__unraisablehook__(unraisable)


def install() -> None:
    sys.unraisablehook = _unraisable
    _signal.signal(_signal.SIGINT, interrupted_at_start)
    if hasattr(_signal, "pthread_sigmask"):   # a Ctrl-C held back (blocked) until now arrives here
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {_signal.SIGINT})


def default_handler():
    """Ctrl-C as KeyboardInterrupt (for the run, where the error handler reports it); returns the previous handler."""
    return _signal.signal(_signal.SIGINT, _signal.default_int_handler)


def restore(handler) -> None:
    _signal.signal(_signal.SIGINT, handler)
