"""Stopping a run from outside: SIGTERM handled as Ctrl-C is, so what finished is kept."""

import contextlib
import signal
import threading


@contextlib.contextmanager
def terminate_like_ctrl_c():
    """SIGTERM (a service manager, ``kill``) stops the run as Ctrl-C does, so what
    finished is kept; the event it yields tells the exit code apart (143)."""
    terminated = threading.Event()

    def on_sigterm(signum, frame):
        terminated.set()
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (main() called from a library's thread)
        yield terminated
        return
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)
