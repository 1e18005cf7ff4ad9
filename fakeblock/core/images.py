"""Image files and arrays: which suffixes count as images, reading them safely,
and turning any image array into the 8-bit picture the app draws on."""

import os
import stat
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}
#: Largest picture the app takes, in pixels (an 8K frame is 33 million): a
#: bigger one would take gigabytes to decode and to search for faces.
MAX_PIXELS = 50_000_000
ACCEPTED = ("a numpy array of shape (height, width) or (height, width, 1, 3 or 4) "
            "(gray, BGR, BGRA), of uint8, uint16 or float values")


def is_regular_file(path) -> bool:
    """True for a regular file (or a link to one): not a folder, FIFO or device,
    which a reader could wait on for ever."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def shown_path(path) -> str:
    """``path`` as text that can be printed and written to a UTF-8 file: bytes of
    a name that is not valid UTF-8 become U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def read_image(path: Path, flags: int = cv2.IMREAD_UNCHANGED):
    """An image file as a numpy array, or None where it is missing, not a regular
    file or not an image.

    Reads the bytes with numpy and decodes them with OpenCV, because
    ``cv2.imread`` cannot open non-ASCII paths on Windows.
    """
    if not is_regular_file(path):
        return None
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, flags) if data.size else None


def check_size(width: int, height: int, name) -> None:
    """Refuse a picture over :data:`MAX_PIXELS` (or an empty one), naming it."""
    if width <= 0 or height <= 0:
        raise InputError(f"{name}: an empty picture ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise InputError(f"{name}: {width}x{height} pixels is over the {MAX_PIXELS // 1_000_000} million "
                             "pixels FakeBlock takes; scale it down first")


def _header_size(path: Path):
    """``(width, height)`` from the file's header, without decoding it (Pillow,
    which matplotlib brings); None where Pillow cannot tell."""
    try:
        from PIL import Image
        Image.MAX_IMAGE_PIXELS = None  # the size is judged here, not by Pillow's warning
        with Image.open(path) as image:
            return image.size
    except Exception:  # noqa: BLE001 -- any header Pillow cannot read: OpenCV decides
        return None


def load_picture(path) -> np.ndarray:
    """An image file as the app's 8-bit picture (:func:`as_picture`); raises
    :class:`FakeBlockError` naming the file and what is wrong with it."""
    path = Path(path)
    if not is_regular_file(path):
        raise InputError(f"{path}: not a regular file" if path.exists() else f"{path}: no such image file")
    size = _header_size(path)
    if size:
        check_size(*size, path)
    image = read_image(path)
    if image is None:
        raise InputError(f"{path}: not a readable image")
    return as_picture(image, path)


def as_picture(image, name="image") -> np.ndarray:
    """Any image array -> uint8 gray (2-D), BGR or BGRA, as a person would see it:
    16-bit and float pictures scaled to 0-255 (floats of 0-1 as such), NaN and
    infinite values as black. Raises :class:`FakeBlockError` for what is not a
    picture (see :data:`ACCEPTED`)."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected {ACCEPTED}, not {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InputError(f"{name}: expected {ACCEPTED}, not shape {image.shape}")
    if image.dtype not in (np.uint8, np.uint16, np.float16, np.float32, np.float64):
        raise InputError(f"{name}: expected {ACCEPTED}, not {image.dtype} values")
    check_size(image.shape[1], image.shape[0], name)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    finite = np.isfinite(image)
    if not finite.any():
        raise InputError(f"{name}: no pixel has a finite value")
    image = np.where(finite, image, 0).astype(np.float32)
    top = float(image.max())
    scale = 255.0 if top <= 1.0 else 255.0 / top
    return np.clip(image * scale, 0, 255).astype(np.uint8)
