"""Face detection with MediaPipe's BlazeFace, run by FakeBlock's TF Lite engine.

The two models ship in ``fakeblock/facedetector/`` (see its NOTICE.md): the
short-range one, for faces that fill a fair part of the picture (webcams,
photos), and the full-range one, for small faces further off, which the
detector falls back to on a frame where the short-range model finds none.
Both see the frame letterboxed into a square; their raw outputs (a box and six
key points per anchor, and a score) are decoded here, as MediaPipe's SSD
decoder does, and overlapping boxes merged by non-maximum suppression.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.preprocess import to_rgb
from ..core.quiet_imports import stderr_silenced
from .detection import largest_first
from .engine import lite_interpreter

MODELS = Path(__file__).resolve().parents[1] / "facedetector"
MIN_SCORE = 0.5  # MediaPipe's own threshold
NMS_IOU = 0.3
#: From BlazeFace's box to the Haar cascade's framing, which the classifier was
#: made for (FER2013's faces are Haar crops): measured on the 1,461 wild-dev
#: photos where both found the face (medians), Haar's box is 1.11 times as
#: large and its centre 0.134 of the box's height higher (brow to chin, rather
#: than eyes to chin).
HAAR_SCALE = 1.11
HAAR_RAISE = 0.134


@dataclass(frozen=True)
class _Model:
    file: str
    size: int  # input side, pixels
    strides: tuple  # one per SSD layer
    anchors_per_cell: int  # on layers of the same stride, together


SHORT_RANGE = _Model("face_detection_short_range.tflite", 128, (8, 16), (2, 6))
FULL_RANGE = _Model("face_detection_full_range.tflite", 192, (4,), (1,))


def anchor_centres(model: _Model) -> np.ndarray:
    """``(n, 2)`` anchor centres ``(x, y)`` in 0-1 input coordinates, in the
    order of the model's outputs (MediaPipe's SsdAnchorsCalculator, fixed-size
    anchors)."""
    centres = []
    for stride, repeats in zip(model.strides, model.anchors_per_cell):
        cells = model.size // stride
        y, x = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        centres.append(np.repeat(np.stack([x.ravel(), y.ravel()], axis=1), repeats, axis=0))
    return np.concatenate(centres).astype(np.float32)


class _Network:
    """One BlazeFace model: frame in, scored face boxes out (frame coordinates)."""

    def __init__(self, model: _Model):
        self.model = model
        self.anchors = anchor_centres(model)
        self.interpreter = lite_interpreter((MODELS / model.file).read_bytes())
        with stderr_silenced():  # the XNNPACK delegate announces itself here
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        scores, boxes = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self.scores, self.boxes = scores["index"], boxes["index"]

    def __call__(self, image: np.ndarray, pad: float) -> tuple:
        """``(boxes, scores)``: ``(x, y, w, h)`` float boxes in ``image``'s pixels
        (any OpenCV image). ``pad``: a black border, as a share of the longer
        side, so that a face cut by the photo's edge is seen whole.

        The frame is shrunk first, then letterboxed into the model's square
        input: the colour conversion and the border work on a few thousand
        pixels, not on the whole frame."""
        height, width = image.shape[:2]
        size = self.model.size
        side = max(height, width) * (1 + 2 * pad)  # the letterboxed square, in frame pixels
        scale = size / side
        small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
        square = cv2.copyMakeBorder(to_rgb(small), top, size - small.shape[0] - top, left,
                                    size - small.shape[1] - left, cv2.BORDER_CONSTANT, value=0)
        self.interpreter.set_tensor(self.input, (square.astype(np.float32) / 127.5 - 1.0)[np.newaxis])
        self.interpreter.invoke()
        logits = np.clip(self.interpreter.get_tensor(self.scores)[0, :, 0], -80, 80)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores > MIN_SCORE
        raw, scores, anchors = self.interpreter.get_tensor(self.boxes)[0][keep], scores[keep], self.anchors[keep]
        centre = raw[:, :2] / size + anchors
        extent = raw[:, 2:4] / size
        boxes = (np.concatenate([centre - extent / 2, extent], axis=1) * size - [left, top, 0, 0]) / scale
        chosen = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), MIN_SCORE, NMS_IOU),
                            dtype=int).ravel()
        return boxes[chosen], scores[chosen]


class BlazeFaceDetector:
    """Finds faces with BlazeFace; the same methods as
    :class:`~fakeblock.app.haar.HaarFaceDetector` (the Haar cascade). It sees the
    frame in colour where it has colour: on gray pictures its scores drop (on
    the demo clip a face scored 0.88 in colour, 0.45 in gray).

    ``min_size``: smallest face side, in pixels. ``pad``: border for still
    photos (see :data:`fakeblock.app.detection.PHOTO_PAD`). A frame where the
    short-range model finds no face is searched again by the full-range one.
    """

    def __init__(self, min_size: int = 20, pad: float = 0.0):
        self.min_size, self.pad = min_size, pad
        self.short_range = _Network(SHORT_RANGE)
        self.full_range = None  # loaded on the first frame that needs it

    def detect(self, image: np.ndarray) -> list:
        """Face boxes ``(x, y, w, h)`` in any OpenCV image, largest first, clipped
        to the image, in the Haar cascade's framing."""
        boxes, _ = self.short_range(image, self.pad)
        if not len(boxes):
            self.full_range = self.full_range or _Network(FULL_RANGE)
            boxes, _ = self.full_range(image, 0.0)
        return largest_first(self._haar_framed(boxes, image.shape[:2]))

    def detect_near(self, image: np.ndarray, boxes, margin: float = 0.3) -> list:
        """Faces near ``boxes``: BlazeFace searches the whole frame in about the
        time the cascade takes around one face, so it does just that."""
        return self.detect(image)

    def _haar_framed(self, boxes: np.ndarray, shape) -> list:
        height, width = shape
        framed = []
        for x, y, w, h in boxes:
            cx, cy = x + w / 2, y + h / 2 - HAAR_RAISE * h
            w, h = w * HAAR_SCALE, h * HAAR_SCALE
            x0, y0 = max(0, round(cx - w / 2)), max(0, round(cy - h / 2))
            x1, y1 = min(width, round(cx + w / 2)), min(height, round(cy + h / 2))
            if min(x1 - x0, y1 - y0) >= self.min_size:
                framed.append((x0, y0, x1 - x0, y1 - y0))
        return framed
