"""The per-frame work: detect -> crop -> classify (one batch) -> follow and smooth."""

import time
from dataclasses import dataclass

import numpy as np

from .classify import EmotionClassifier
from .detect import FaceDetector, FaceTracker
from .preprocess import to_gray


@dataclass
class FrameResult:
    """The faces found in one frame, each as in the JSON output, largest first."""

    faces: list
    ms: float  # detect + classify time


def face_record(track, classes) -> dict:
    """One face as the app reports it (JSON, CSV, overlay)."""
    scores = {name: round(float(s), 4) for name, s in zip(classes, track.scores)}
    best = int(np.argmax(track.scores))
    return {"box": [int(v) for v in track.box], "emotion": classes[best],
            "confidence": round(float(track.scores[best]), 4), "scores": scores,
            "track": track.id}


class EmotionPipeline:
    """Everything between a frame and its labelled faces, for the app and the benchmarks."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier, smooth: int = 5):
        self.detector, self.classifier = detector, classifier
        self.tracker = FaceTracker(smooth)

    @property
    def classes(self):
        return self.classifier.classes

    def process(self, image: np.ndarray, index: int, new_scene: bool = False) -> FrameResult:
        """Find, classify and follow the faces of one frame (any OpenCV image)."""
        started = time.perf_counter()
        gray = to_gray(image)
        boxes = self.detector.detect(gray)
        scores = self.classifier.classify(gray, boxes)
        if new_scene:
            self.tracker.reset()
        tracks = self.tracker.update(index, boxes, scores)
        faces = [face_record(t, self.classes) for t in tracks]
        return FrameResult(faces, (time.perf_counter() - started) * 1000)
