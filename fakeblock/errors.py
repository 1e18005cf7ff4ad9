"""The one exception type that user-caused problems raise."""


class FakeBlockError(Exception):
    """A problem the user can fix (bad file, bad flag, no camera).

    The message is written for a person and names the file, row or frame at
    fault; the entry scripts print it on one line and exit with ``exit_code``.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code
