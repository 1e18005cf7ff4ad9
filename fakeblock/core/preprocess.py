"""Face crop -> model input. Training, evaluation and the app all use this."""

import math

import cv2
import numpy as np

#: Side of the square grayscale face the models take, in pixels.
FACE_SIZE = 48


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image (gray, BGR or BGRA; uint8 or uint16) -> 2-D uint8 gray."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"unsupported image shape {image.shape}")


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image (gray, BGR or BGRA; uint8 or uint16) -> uint8 RGB, gray repeated."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(to_gray(image), cv2.COLOR_GRAY2RGB)


def crop_face(gray: np.ndarray, box) -> np.ndarray:
    """Cut the face box ``(x, y, w, h)`` out of a gray frame as a model input.

    The box is clipped to the frame, so faces at the edge work. Returns a
    ``FACE_SIZE`` x ``FACE_SIZE`` float32 array of raw pixel values (0-255):
    the models rescale inside themselves.
    """
    x, y, w, h = (int(v) for v in box)
    height, width = gray.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"face box {box} lies outside the {width}x{height} frame")
    face = gray[y0:y1, x0:x1]
    interpolation = cv2.INTER_AREA if face.shape[0] > FACE_SIZE else cv2.INTER_LINEAR
    face = cv2.resize(face, (FACE_SIZE, FACE_SIZE), interpolation=interpolation)
    return face.astype(np.float32)


def square_crop(image: np.ndarray, centre, side: float, size: int, angle: float = 0.0,
                interpolation: int = cv2.INTER_LINEAR, border: int = cv2.BORDER_CONSTANT) -> tuple:
    """The square of ``side`` pixels around ``centre`` (x, y) of ``image``, turned
    by ``angle`` (radians, clockwise as y points down), as a ``size`` x ``size``
    picture. Returns the picture and the 2x3 matrix from the image's pixels to it."""
    cos, sin, scale = math.cos(angle), math.sin(angle), size / side
    to_crop = np.array([[cos * scale, sin * scale, 0.0], [-sin * scale, cos * scale, 0.0]])
    to_crop[:, 2] = size / 2 - to_crop[:, :2] @ np.asarray(centre, dtype=float)
    return cv2.warpAffine(image, to_crop, (size, size), flags=interpolation, borderMode=border,
                          borderValue=0), to_crop


def faces_to_batch(gray: np.ndarray, boxes) -> np.ndarray:
    """All face boxes of one gray frame -> an ``(n, 48, 48, 1)`` float32 batch."""
    batch = np.empty((len(boxes), FACE_SIZE, FACE_SIZE, 1), np.float32)
    for i, box in enumerate(boxes):
        batch[i, :, :, 0] = crop_face(gray, box)
    return batch


def images_to_batch(images: np.ndarray) -> np.ndarray:
    """Dataset faces, ``(n, 48, 48)`` uint8 -> ``(n, 48, 48, 1)`` float32 model input."""
    return images.astype(np.float32)[..., np.newaxis]
