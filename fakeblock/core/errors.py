"""The one exception type that user-caused problems raise."""


class FakeBlockError(Exception):
    """A problem the user can fix (bad file, bad flag, no camera).

    The message is written for a person and names the file, row or frame at
    fault; the entry scripts print it on one line and exit with ``exit_code``.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def first_line(error: Exception) -> str:
    """The first line of an exception's message (library errors can run to pages)."""
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
