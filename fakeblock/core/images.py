"""Image files: which suffixes count as images, and reading them safely."""

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}


def read_image(path: Path, flags: int = cv2.IMREAD_UNCHANGED):
    """An image file as a numpy array, or None where it is missing or not an image.

    Reads the bytes with numpy and decodes them with OpenCV, because
    ``cv2.imread`` cannot open non-ASCII paths on Windows.
    """
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, flags) if data.size else None
