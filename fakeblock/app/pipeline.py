"""The per-frame work: detect -> crop -> classify (one batch) -> follow and smooth."""

import time
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from ..core.preprocess import to_gray
from .classify import EmotionClassifier
from .detection import PHOTO_PAD
from .haar import HaarFaceDetector
from .tracking import FaceTracker

#: The face finders ``build_pipeline`` knows (``--detector``): BlazeFace is the default.
DETECTORS = ("blazeface", "haar")


class FaceRecord(TypedDict):
    """One face, as the app's JSON, the timeline and the Python API give it
    (with ``--identities``, the JSON adds ``identity``)."""

    box: list  # [x, y, w, h] in the picture's pixels
    emotion: str  # the top class, always
    confidence: float  # its calibrated score
    uncertain: bool  # confidence under --min-confidence
    scores: dict  # every class's calibrated score, by name
    track: int  # the same number for the same face across frames


@dataclass
class FrameResult:
    """The faces found in one frame, each as in the JSON output, largest first."""

    faces: list[FaceRecord]
    ms: float  # detect + classify time


#: Default of ``--min-confidence``: below it a face's best guess is more likely
#: wrong than right (calibrated scores), so it is flagged uncertain.
MIN_CONFIDENCE = 0.5


def face_record(track, classes, min_confidence: float = MIN_CONFIDENCE) -> FaceRecord:
    """One face as the app reports it (JSON, CSV, overlay). ``emotion`` is always
    the top class; ``uncertain`` flags a top score below ``min_confidence``."""
    scores = {name: round(float(s), 4) for name, s in zip(classes, track.scores)}
    best = int(np.argmax(track.scores))
    return {"box": [int(v) for v in track.box], "emotion": classes[best],
            "confidence": round(float(track.scores[best]), 4),
            "uncertain": bool(track.scores[best] < min_confidence), "scores": scores,
            "track": track.id}


class EmotionPipeline:
    """Everything between a frame and its labelled faces, for the app and the benchmarks.

    A face whose (calibrated, smoothed) top score is under ``min_confidence``
    is flagged ``uncertain``.

    The whole frame is searched for faces every ``detect_every`` frames; in
    between, only the neighbourhood of the faces of the frame before, unless
    that finds fewer faces than it had (or there were none), when the whole
    frame is searched at once. A face that walks in is found at the next
    whole-frame search.
    """

    def __init__(self, detector, classifier: EmotionClassifier, smooth: int = 5,
                 detect_every: int = 5, min_confidence: float = MIN_CONFIDENCE):
        self.detector, self.classifier = detector, classifier
        self.min_confidence, self.smooth, self.detect_every = min_confidence, smooth, detect_every
        self.restart()

    def restart(self):
        """Forget every face followed so far, track numbers included: the next
        frame is processed as the first of a new video (the model stays loaded)."""
        self.tracker = FaceTracker(self.smooth)
        self.last_full_search = None

    @property
    def classes(self):
        return self.classifier.classes

    def process(self, image: np.ndarray, index: int, new_scene: bool = False) -> FrameResult:
        """Find, classify and follow the faces of one frame (any OpenCV image)."""
        started = time.perf_counter()
        gray = to_gray(image)
        if new_scene:
            self.tracker.reset()
        boxes = self._find_faces(image, index)
        scores = self.classifier.classify(gray, boxes)
        tracks = self.tracker.update(index, boxes, scores)
        faces = [face_record(t, self.classes, self.min_confidence) for t in tracks]
        return FrameResult(faces, (time.perf_counter() - started) * 1000)

    def _find_faces(self, image: np.ndarray, index: int) -> list:
        """This frame's face boxes: a whole-frame search, or one around last frame's faces."""
        recent = [t.box for t in self.tracker.tracks if t.last_seen == index - 1]
        if recent and index - self.last_full_search < self.detect_every:
            boxes = self.detector.detect_near(image, recent)
            if len(boxes) >= len(recent):
                return boxes
        self.last_full_search = index
        return self.detector.detect(image)


@dataclass(frozen=True)
class PipelineOptions:
    """How faces are found, classified and followed: the app's flags of the same
    names, travelling together (frozen, so a worker process can key the
    pipelines it keeps by them).

    ``model``: a ``.keras`` path (default: the shipped model); ``tta``: also the
    mirrored face; ``engine``: ``lite`` or ``keras``; ``smooth``: frames a face's
    scores are averaged over; ``detect_every``: whole-frame searches, every N
    frames; ``min_confidence``: under it a face is ``uncertain``; ``detector``:
    ``blazeface`` or ``haar``, with the Haar cascade's ``cascade``,
    ``scale_factor`` and ``min_neighbors``; ``min_size``: smallest face side.
    """

    model: str | None = None
    tta: bool = False
    engine: str = "lite"
    smooth: int = 5
    detect_every: int = 5
    min_confidence: float = MIN_CONFIDENCE
    detector: str = "blazeface"
    cascade: str | None = None
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: int | None = None

    def build(self, still: bool = False) -> "EmotionPipeline":
        """The pipeline: the one place that assembles detector, classifier and
        pipeline (the app, the API, many videos and the benchmarks all build it
        here). ``still``: the frames are separate photos (faces cut by the
        photo's edge are also searched for, and the model card's photo rule applies)."""
        from ..core.modelfile import DEFAULT_MODEL

        pad = PHOTO_PAD if still else 0.0
        if self.detector == "haar":
            finder = HaarFaceDetector(self.cascade, self.scale_factor, self.min_neighbors, self.min_size or 48,
                                      pad=pad)
        else:
            from .blazeface import BlazeFaceDetector

            finder = BlazeFaceDetector(self.min_size or 20, pad=pad)
        classifier = EmotionClassifier(self.model or DEFAULT_MODEL, tta=self.tta, engine=self.engine, photos=still)
        return EmotionPipeline(finder, classifier, self.smooth, self.detect_every, self.min_confidence)


def build_pipeline(model=None, *, still: bool = False, **options) -> EmotionPipeline:
    """``PipelineOptions(model=model, **options).build(still)``: the app's
    pipeline with the app's defaults (see :class:`PipelineOptions`)."""
    return PipelineOptions(model=None if model is None else str(model), **options).build(still)
