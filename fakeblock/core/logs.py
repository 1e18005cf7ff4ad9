"""How FakeBlock reports what it did and what it skipped: through ``logging``.

Library code logs to the ``fakeblock`` loggers and never prints, so a Python
caller decides what to show (``logging.getLogger("fakeblock").setLevel(...)``);
the two scripts show the messages as plain lines with :func:`show_messages`.
"""

import logging
import sys

logging.getLogger("fakeblock").addHandler(logging.NullHandler())


def show_messages(stream=None) -> None:
    """Print FakeBlock's messages as plain lines, as the scripts show them: its
    notes (INFO) to ``stream`` (default: standard error), its warnings to
    standard error."""
    logger = logging.getLogger("fakeblock")
    for handler in [h for h in logger.handlers if getattr(h, "fakeblock_script", False)]:
        logger.removeHandler(handler)
    notes = logging.StreamHandler(stream or sys.stderr)
    notes.addFilter(lambda record: record.levelno < logging.WARNING)
    warnings = logging.StreamHandler(sys.stderr)
    warnings.setLevel(logging.WARNING)
    for handler in (notes, warnings):
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.fakeblock_script = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
