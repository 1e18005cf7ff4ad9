"""Stopping a run from outside: SIGTERM handled as Ctrl-C is, so what finished is
kept; standard output whose reader went away (``| head``) silenced."""

import contextlib
import os
import signal
import sys
import threading


def silence_closed_stdout():
    """After a BrokenPipeError: standard output's reader went away (``| head``);
    point it at the null device, so nothing written later, nor Python's flush at
    exit, fails again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
