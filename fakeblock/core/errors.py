"""The exceptions that user-caused problems raise, and how to name an optional install.

Every one is a :class:`FakeBlockError`, so ``except fakeblock.FakeBlockError``
catches them all; a caller that needs to tell them apart catches a subclass:

- :class:`InputError`: a source, picture, video, folder or output path that
  cannot be used;
- :class:`ModelFileError`: a model file or model card that is missing or broken;
- :class:`MissingInstallError`: an optional package (an extra) is not installed.
"""

from pathlib import Path


class FakeBlockError(Exception):
    """A problem the user can fix (bad file, bad flag, no camera).

    The message is written for a person and names the file, row or frame at
    fault; the entry scripts print it on one line and exit with ``exit_code``.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class InputError(FakeBlockError):
    """A source, picture, video, folder or output path that cannot be used."""


class ModelFileError(FakeBlockError):
    """A model file or model card that is missing, of the wrong kind, or broken."""


class MissingInstallError(FakeBlockError, ImportError):
    """An optional part of FakeBlock whose packages are not installed; the
    message says what to install."""


#: The optional installs, by extra name: the requirements file of a checkout.
EXTRAS = {"train": "requirements-train.txt", "identity": "requirements-identity.txt",
          "scale": "requirements-scale.txt"}


def install_hint(extra: str) -> str:
    """The command that installs an optional part: the requirements file in a
    checkout of the repository, the package extra where FakeBlock was installed
    with pip (``python -m pip install "fakeblock[identity]"``)."""
    requirements = Path(__file__).resolve().parents[2] / EXTRAS[extra]
    if requirements.is_file():
        return f"python -m pip install -r {requirements.name}"
    return f'python -m pip install "fakeblock[{extra}]"'


def first_line(error: Exception) -> str:
    """The first line of an exception's message (library errors can run to pages)."""
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
