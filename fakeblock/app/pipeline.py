"""The per-frame work: detect -> crop -> classify (one batch) -> follow and smooth."""

import time
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from ..core.preprocess import to_gray
from .classify import EmotionClassifier
from .cuts import SceneCuts, face_picture
from .detection import PHOTO_PAD
from .haar import HaarFaceDetector
from .tracking import FaceTracker

#: The face finders ``build_pipeline`` knows (``--detector``): BlazeFace is the default.
DETECTORS = ("blazeface", "haar")


class FaceRecord(TypedDict, total=False):
    """One face, as the app's JSON, the timeline and the Python API give it
    (with ``--identities``, the JSON adds ``identity``). ``movements`` and
    ``head_pose`` are there with ``--movements``, ``landmarks`` with
    ``--landmarks``; each is None where the landmark model saw no face."""

    box: list  # [x, y, w, h] in the picture's pixels
    emotion: str  # the top class, always
    confidence: float  # its calibrated score
    uncertain: bool  # confidence under --min-confidence
    scores: dict  # every class's calibrated score, by name
    track: int  # the same number for the same face across frames
    movements: dict | None  # the 51 movements' scores (0-1), by MediaPipe's names
    head_pose: dict | None  # yaw, pitch, roll in degrees
    landmarks: list | None  # 478 [x, y, z] points, x and y in the picture's pixels


@dataclass
class FrameResult:
    """The faces found in one frame, each as in the JSON output, largest first;
    ``classes``: the model's classes, in score order (what the outputs draw and list)."""

    faces: list[FaceRecord]
    ms: float  # detect + classify time
    classes: tuple = ()
    meshes: dict = field(default_factory=dict)  # track -> its face's landmarks, where movements are read


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

    A cut (:class:`~fakeblock.app.cuts.SceneCuts`) ends every track, and a
    face that no longer looks like its track's face starts a new one.

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
        self.movements, self.landmarks = None, False  # a MovementReader: read_movements()
        self.profile, self.features = None, None  # use_profile(); the network's features, for profiles
        self.restart()

    def restart(self):
        """Forget every face followed so far, track numbers included: the next
        frame is processed as the first of a new video (the model stays loaded)."""
        self.tracker = FaceTracker(self.smooth)
        self.cuts = SceneCuts()
        self.last_full_search = None
        self.eye_angles = {}  # track -> its face's eye-line angle in the frame before (with movements)

    @property
    def classes(self):
        return self.classifier.classes

    def process(self, image: np.ndarray, index: int, new_scene: bool = False) -> FrameResult:
        """Find, classify and follow the faces of one frame (any OpenCV image)."""
        started = time.perf_counter()
        gray = to_gray(image)
        if new_scene or self.cuts.is_cut(image):  # a cut ends every track
            self.tracker.reset()
        boxes = self._find_faces(image, index)
        scores = self.classifier.classify(gray, boxes)
        tracks = self.tracker.update(index, boxes, scores, [face_picture(image, box) for box in boxes])
        faces = [face_record(t, self.classes, self.min_confidence) for t in tracks]
        meshes = self._add_movements(image, faces, still=new_scene) if self.movements is not None else {}
        if self.profile is not None:
            self._apply_profile(image, faces, photo=new_scene)
        return FrameResult(faces, (time.perf_counter() - started) * 1000, self.classes, meshes)

    def use_profile(self, profile):
        """Name each face's expression with ``profile`` (a
        :class:`~fakeblock.app.profiles.Profile`) from the next frame on; None: without."""
        self.profile = profile

    def describe(self, image: np.ndarray, face: dict, photo: bool) -> np.ndarray:
        """A face as a profile sees it (:class:`~fakeblock.app.profiles.FaceFeatures`);
        ``photo``: a still picture (its crops averaged), not a video's frame."""
        from .profiles import FaceFeatures

        if self.features is None:
            self.features = FaceFeatures(self.classifier.flatbuffer, self.classifier.path)
        return self.features(image, face["box"], photo)

    def _apply_profile(self, image: np.ndarray, faces: list, photo: bool):
        for face in faces:
            scores = self.profile.scores(self.describe(image, face, photo), face["scores"])
            best = max(scores, key=scores.get)
            face.update(scores={e: round(float(s), 4) for e, s in scores.items()}, emotion=best,
                        confidence=round(float(scores[best]), 4), uncertain=bool(scores[best] < self.min_confidence))

    def read_movements(self, landmarks: bool = False):
        """From the next frame on, also read each face's movements (and its
        landmarks, with ``landmarks``): the window's mesh key turns them on."""
        if self.movements is None:
            from .movements import MovementReader

            self.movements = MovementReader()
        self.landmarks = self.landmarks or landmarks

    def _add_movements(self, image: np.ndarray, faces: list, still: bool) -> dict:
        """Each face's movements and head pose (and landmarks where asked); a
        followed face's crop is turned by its angle in the frame before.
        Returns each face's landmarks, by track."""
        from .movements import eye_angle

        angles = {} if still else self.eye_angles
        self.eye_angles, meshes = {}, {}
        for face in faces:
            mesh = self.movements.read(image, face["box"], angles.get(face["track"]))
            face["movements"] = mesh.movements if mesh else None
            face["head_pose"] = mesh.head_pose if mesh else None
            if self.landmarks:
                face["landmarks"] = mesh.landmarks.round(1).tolist() if mesh else None
            if mesh:
                self.eye_angles[face["track"]] = eye_angle(mesh.landmarks)
                meshes[face["track"]] = mesh.landmarks
        return meshes

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
    ``scale_factor`` and ``min_neighbors``; ``min_size``: smallest face side;
    ``movements``: each face's movements and head pose
    (:mod:`fakeblock.app.movements`); ``landmarks``: its 478 landmarks too;
    ``profile``: a profile file (:mod:`fakeblock.app.profiles`) names the faces' expressions.
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
    movements: bool = False
    landmarks: bool = False
    profile: str | None = None

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
        pipeline = EmotionPipeline(finder, classifier, self.smooth, self.detect_every, self.min_confidence)
        if self.movements or self.landmarks:
            pipeline.read_movements(self.landmarks)
        if self.profile:
            from .profiles import load_profile

            pipeline.use_profile(load_profile(self.profile, classifier.path))
        return pipeline


def build_pipeline(model=None, *, still: bool = False, **options) -> EmotionPipeline:
    """``PipelineOptions(model=model, **options).build(still)``: the app's
    pipeline with the app's defaults (see :class:`PipelineOptions`)."""
    return PipelineOptions(model=None if model is None else str(model), **options).build(still)
