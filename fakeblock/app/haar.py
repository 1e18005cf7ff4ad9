"""Face detection with OpenCV's Haar cascade (the original project's; ``--detector haar``)."""

from pathlib import Path

import cv2
import numpy as np

from ..core.errors import ModelFileError
from ..core.preprocess import to_gray
from .detection import iou, largest_first

#: The cascade shipped beside WebCam.py; OpenCV's own copy is the fallback.
CASCADE_NAME = "haarcascade_frontalface_default.xml"
DEFAULT_CASCADE = Path(__file__).resolve().parents[2] / CASCADE_NAME
_CASCADE_WINDOW = 24  # the frontal-face cascade's own window size, in pixels
#: Side, in pixels, that the smallest face sought around a known face is scaled
#: to. OpenCV slides the cascade's window by two pixels until it has shrunk the
#: image to half size, by one pixel after: at this scale most of the search
#: stays at the coarse step, which halves its cost. At 34 pixels it lost a face
#: in 2 of 240 benchmark and demo frames (the pipeline then searches the whole
#: frame); at 24, all of it coarse, in 10 of 150.
_NEAR_FACE_PIXELS = 34



def cascade_path(requested=None) -> Path:
    """The cascade file to use: ``requested`` if given, else the shipped copy, else OpenCV's."""
    if requested:
        path = Path(requested)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such cascade file")
        return path
    if DEFAULT_CASCADE.is_file():
        return DEFAULT_CASCADE
    fallback = Path(cv2.data.haarcascades) / CASCADE_NAME
    if fallback.is_file():
        return fallback
    raise ModelFileError(f"{DEFAULT_CASCADE}: missing, and OpenCV has no copy of it either; "
                         "pass --cascade PATH")


class HaarFaceDetector:
    """Finds frontal faces in gray frames.

    Detection runs on a frame scaled down so that the smallest face asked for
    (``min_size``) still fills the cascade's 24-pixel window: smaller frames,
    the same faces. Boxes come back in the full frame's coordinates.
    """

    def __init__(self, cascade=None, scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_size: int = 48, pad: float = 0.0):
        path = cascade_path(cascade)
        try:
            self.classifier = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # OpenCV raises on a malformed XML file
            self.classifier = cv2.CascadeClassifier()
        if self.classifier.empty():
            raise ModelFileError(f"{path}: not a valid Haar cascade file")
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size
        self.scale = min(1.0, _CASCADE_WINDOW / max(1, min_size))
        self.pad = pad

    def detect(self, image: np.ndarray) -> list:
        """Face boxes ``(x, y, w, h)`` in any OpenCV image, largest first, clipped to the frame.

        With ``pad`` (a fraction of the shorter side), the frame is searched
        again inside a black border, so that faces cut by the frame's edge
        (tight photo crops) are found whole. Where the plain search found faces,
        a face found only with the border is kept if it reaches into the
        border: one inside the frame is a false detection the border caused.
        """
        gray = to_gray(image)
        small = self._scaled(gray)
        boxes = self._detect(small, gray.shape[:2], 0)
        border = int(self.pad * min(small.shape))
        if border:
            height, width = gray.shape[:2]
            padded = self._detect(small, gray.shape[:2], border)
            boxes = [box for box in padded
                     if box[0] == 0 or box[1] == 0 or box[0] + box[2] == width
                     or box[1] + box[3] == height or not boxes
                     or any(iou(box, plain) > 0.3 for plain in boxes)]
        return largest_first(boxes)

    def detect_near(self, image: np.ndarray, boxes, margin: float = 0.3) -> list:
        """Faces found only around ``boxes`` (where faces were a frame ago), largest first.

        Each box is searched grown by ``margin`` of its size on every side, for
        faces from 4/5 to 5/4 of its size: a fraction of the work of searching
        the whole frame (a face that moves or grows faster than that between two
        frames is found by the whole-frame search the pipeline falls back to).
        """
        gray = to_gray(image)
        height, width = gray.shape[:2]
        found = []
        for x, y, w, h in boxes:
            x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
            x1, y1 = min(width, int(x + w + margin * w)), min(height, int(y + h + margin * h))
            side = max(w, h)
            sizes = (max(self.min_size, int(side * 0.8)), int(side * 1.25))
            scale = min(self.scale, _NEAR_FACE_PIXELS / sizes[0])
            region = self._scaled(gray[y0:y1, x0:x1], scale)
            for fx, fy, fw, fh in self._detect(region, (y1 - y0, x1 - x0), 0, sizes, scale):
                face = (fx + x0, fy + y0, fw, fh)
                if all(iou(face, other) < 0.5 for other in found):
                    found.append(face)
        return largest_first(found)

    def _scaled(self, gray: np.ndarray, scale: float | None = None) -> np.ndarray:
        """The image at ``scale``, by default the detection scale (where
        ``min_size`` fills the cascade's window)."""
        scale = scale or self.scale
        if scale < 1.0:
            return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return gray

    def _detect(self, small: np.ndarray, full_shape, border: int, sizes=None, scale=None) -> list:
        """Run the cascade on the frame scaled by ``scale`` (default: the detection
        scale) inside a ``border``, for faces of ``sizes`` (smallest, largest side
        in full-frame pixels; default from ``min_size`` up); boxes in full-frame
        coordinates."""
        scale = scale or self.scale
        if border:
            small = cv2.copyMakeBorder(small, border, border, border, border, cv2.BORDER_CONSTANT, value=0)
        smallest, largest = sizes or (self.min_size, 0)
        min_side, max_side = max(1, round(smallest * scale)), round(largest * scale)
        found = self.classifier.detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(min_side, min_side), maxSize=(max_side, max_side))
        height, width = full_shape
        boxes = []
        for x, y, w, h in np.reshape(found, (-1, 4)):
            x0, y0 = max(0, round((x - border) / scale)), max(0, round((y - border) / scale))
            x1 = min(width, round((x - border + w) / scale))
            y1 = min(height, round((y - border + h) / scale))
            if x1 > x0 and y1 > y0:
                boxes.append((x0, y0, x1 - x0, y1 - y0))
        return boxes
