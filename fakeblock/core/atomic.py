"""Atomic writes: a reader, or a run killed mid-write, sees the old file or the new one."""

import os
from pathlib import Path


def _partial(path: Path, suffix: str = "") -> Path:
    return path.with_name(f".{path.stem}.{os.getpid()}.partial{suffix}")


def write_text(path, text: str):
    """Replace ``path`` with ``text``."""
    path = Path(path)
    partial = _partial(path, path.suffix)
    partial.write_text(text)
    os.replace(partial, path)


def write_bytes(path, data: bytes):
    """Replace ``path`` with ``data``."""
    path = Path(path)
    partial = _partial(path, path.suffix)
    partial.write_bytes(data)
    os.replace(partial, path)


def save_model(model, path):
    """Save a Keras model as ``path`` (``.keras``)."""
    path = Path(path)
    partial = _partial(path, ".keras")  # Keras insists on the suffix
    model.save(partial)
    os.replace(partial, path)


def save_figure(fig, path):
    """Save a matplotlib figure as a PNG and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    partial = _partial(path, ".png")
    fig.savefig(partial, dpi=110)
    plt.close(fig)
    os.replace(partial, path)
