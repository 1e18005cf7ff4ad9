"""Atomic writes: a reader, or a run killed mid-write, sees the old file or the new one."""

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

from .errors import InputError


def _partial(path: Path, suffix: str = "") -> Path:
    return path.with_name(f".{path.stem[:100]}.{os.getpid()}.partial{suffix}")


def check_replaceable(path: Path):
    """Raise one line where ``path`` is a folder or a device: only files (or
    links, which are replaced, not followed) are ever written over."""
    if os.path.lexists(path) and not (path.is_symlink() or stat.S_ISREG(path.stat().st_mode)):
        raise InputError(f"{path}: not a regular file (a folder or a device); choose a file name")


@contextlib.contextmanager
def replacing(path, suffix: str | None = None):
    """Yield a hidden temporary path beside ``path``; when the block ends, it
    replaces ``path`` (a symlink there is replaced, not followed). On any
    error the temporary file is removed; an OSError becomes one line naming
    ``path`` and the cause."""
    path = Path(path)
    check_replaceable(path)
    partial = _partial(path, path.suffix if suffix is None else suffix)
    try:
        yield partial
        os.replace(partial, path)
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror or e})") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def write_text(path, text: str):
    """Replace ``path`` with ``text`` (UTF-8)."""
    with replacing(path) as partial:
        partial.write_text(text, encoding="utf-8")


def write_json(data, path, indent: int | None = 2):
    """Replace ``path`` with ``data`` as JSON, indented unless ``indent`` is
    None; a value that is not a number (NaN, infinity) is refused, as JSON has none."""
    try:
        text = json.dumps(data, indent=indent, allow_nan=False)
    except ValueError:
        raise InputError(f"{path}: a value to write is not a number (NaN or infinite)") from None
    write_text(path, text)


def write_bytes(path, data: bytes):
    """Replace ``path`` with ``data``."""
    with replacing(path) as partial:
        partial.write_bytes(data)


def save_model(model, path):
    """Save a Keras model as ``path`` (``.keras``)."""
    with replacing(path, ".keras") as partial:  # Keras insists on the suffix
        model.save(partial)


def save_figure(fig, path):
    """Save a matplotlib figure as a PNG and close it."""
    import matplotlib.pyplot as plt

    try:
        with replacing(path, ".png") as partial:
            fig.savefig(partial, dpi=110, format="png")
    finally:
        plt.close(fig)


def make_folder(path: Path, what: str):
    """Create ``path`` (and its parents) or raise one line saying why not; then
    check that files can be written in it."""
    if Path(path).exists() and not Path(path).is_dir():
        raise InputError(f"{path}: is a file, not a folder; the {what} must be a folder (a new or existing one)")
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{path}: cannot create the {what} ({e.strerror})") from None
    check_writable_folder(path)


def check_writable_folder(folder: Path):
    """Raise one line unless a file can be created in ``folder`` (before the
    analysis, not after it)."""
    folder = Path(folder) if str(folder) else Path(".")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".fakeblock-check-"):
            pass
    except OSError as e:
        raise InputError(f"{folder}: cannot write there ({e.strerror or e})") from None
