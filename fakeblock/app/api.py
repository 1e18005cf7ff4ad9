"""FakeBlock from Python, in three verbs.

    import fakeblock
    faces = fakeblock.analyze_image("photo.jpg")        # every face in a photo
    timeline = fakeblock.analyze_video("talk.mp4")      # a DataFrame, one row per face and frame
    recognize = fakeblock.Recognizer()                  # frames from your own loop
    for frame in my_frames:
        faces = recognize(frame)

A face is a :class:`~fakeblock.app.pipeline.FaceRecord`, a dict as in the
app's JSON: ``box`` ``[x, y, w, h]`` in the image's pixels, ``emotion`` (the
top class), ``confidence`` (its calibrated score), ``uncertain``
(``confidence`` under ``min_confidence``), ``scores`` (every class's score) and
``track`` (the same number for the same face across a Recognizer's frames).
Faces come largest first.
"""

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.images import as_picture, load_picture
from ..core.modelfile import resolve_model
from .pipeline import MIN_CONFIDENCE, FaceRecord, PipelineOptions


class Recognizer:
    """Emotions of the faces in the frames of your own loop (a camera, a video
    reader, generated images): call it with each frame, in order.

    Args:
        model: a ``.keras`` path, or a shipped model's name (``"ferplus"``);
            default: the shipped default model.
        still: every frame is a separate photo (no following, faces at the
            edge searched for, the model card's photo rule applied).
        smooth: frames each face's scores are averaged over (0: off).
        detect_every: search the whole frame every N frames; in between, only
            around the faces already found.
        min_confidence: a face whose calibrated top score is under it is
            flagged ``uncertain``.
        tta: also classify the mirrored face and average.
        engine: ``"lite"`` (TensorFlow Lite, no TensorFlow) or ``"keras"``.
        detector: ``"blazeface"`` or ``"haar"``.
        min_size: smallest face side in pixels (default: 20 with BlazeFace,
            48 with Haar).
        cascade, scale_factor, min_neighbors: the Haar cascade's file and
            settings (``detector="haar"`` only).
        movements: each face also gets ``movements`` (51 scores, MediaPipe's
            blendshape names) and ``head_pose`` (``yaw``, ``pitch``, ``roll``).
        landmarks: each face also gets its 478 ``landmarks`` (and movements).
        profile: a profile file (``WebCam.py --make-profile``): the faces'
            expressions are named with it (:mod:`fakeblock.app.profiles`).

    Raises:
        ModelFileError: the model or its card is missing or broken.
        MissingInstallError: ``engine="keras"`` without TensorFlow.

    Example:
        >>> recognize = fakeblock.Recognizer(smooth=3)
        >>> faces = recognize(frame)   # each call: the next frame, in order
    """

    def __init__(self, model: str | Path | None = None, *, still: bool = False, smooth: int = 5,
                 detect_every: int = 5, min_confidence: float = MIN_CONFIDENCE, tta: bool = False,
                 engine: str = "lite", detector: str = "blazeface", min_size: int | None = None,
                 cascade: str | Path | None = None, scale_factor: float = 1.1, min_neighbors: int = 5,
                 movements: bool = False, landmarks: bool = False, profile: str | Path | None = None):
        self.still = still
        self.pipeline = PipelineOptions(
            model=None if model is None else str(resolve_model(model)), tta=tta, engine=engine, smooth=smooth,
            detect_every=detect_every, min_confidence=min_confidence, detector=detector,
            cascade=None if cascade is None else str(cascade), scale_factor=scale_factor,
            min_neighbors=min_neighbors, min_size=min_size, movements=movements or landmarks,
            landmarks=landmarks, profile=None if profile is None else str(profile)).build(still=still)
        self.frames = 0

    @property
    def classes(self) -> tuple:
        """The emotions the model tells apart, in score order."""
        return self.pipeline.classes

    def __call__(self, frame: np.ndarray) -> list[FaceRecord]:
        """The faces of one frame: a BGR (OpenCV's order), BGRA or gray uint8 array."""
        frame = as_picture(frame, "frame")
        faces = self.pipeline.process(frame, self.frames, new_scene=self.still).faces
        self.frames += 1
        return faces


@lru_cache(maxsize=2)
def _photo_recognizer(model, tta: bool, min_confidence: float, movements: bool, landmarks: bool,
                      profile) -> Recognizer:
    return Recognizer(model, still=True, tta=tta, min_confidence=min_confidence, movements=movements,
                      landmarks=landmarks, profile=profile)


def analyze_image(image: str | Path | np.ndarray, model: str | Path | None = None, *, tta: bool = False,
                  min_confidence: float = MIN_CONFIDENCE, movements: bool = False,
                  landmarks: bool = False, profile: str | Path | None = None) -> list[FaceRecord]:
    """Every face in one photo.

    Args:
        image: a file path, or a numpy array (gray, BGR or BGRA; uint8, uint16
            or float).
        model: a ``.keras`` path or a shipped model's name (default: the
            shipped default model); loaded once and kept for the next call with
            the same settings.
        tta: also classify the mirrored faces (the shipped model's photo rule
            does this already).
        min_confidence: a face whose calibrated top score is under it is
            flagged ``uncertain``.
        movements, landmarks: also each face's movements and head pose (and
            landmarks), as for :class:`Recognizer`.
        profile: a profile file, as for :class:`Recognizer`.

    Returns:
        The faces as dicts (see the module's docstring), largest first; an
        empty list when there is none.

    Raises:
        InputError: a file that is missing or not an image, or an array it
            cannot read, with a message that says why.
        ModelFileError: the model or its card is missing or broken.

    Example:
        >>> [face["emotion"] for face in fakeblock.analyze_image("photo.jpg")]
        ['happy']
    """
    if isinstance(image, (str, Path)):
        image = load_picture(image)
    model = str(resolve_model(model)) if model is not None else None
    profile = None if profile is None else str(profile)
    return _photo_recognizer(model, tta, min_confidence, movements, landmarks, profile)(image)


def analyze_video(path: str | Path, model: str | Path | None = None, *, smooth: int = 5,
                  min_confidence: float = MIN_CONFIDENCE, identities: bool = False, detector: str = "blazeface",
                  min_size: int | None = None, cascade: str | Path | None = None, scale_factor: float = 1.1,
                  min_neighbors: int = 5, movements: bool = False,
                  profile: str | Path | None = None) -> pd.DataFrame:
    """The emotion timeline of a video (or a folder of images).

    Args:
        path: a video file, or a folder of images.
        model: a ``.keras`` path or a shipped model's name (default: the
            shipped default model).
        smooth: frames each face's scores are averaged over (0: off).
        min_confidence: a face under it is flagged ``uncertain``.
        identities: tell people apart across cuts and exits (the ``identity``
            extra): adds an ``identity`` column.
        detector, min_size, cascade, scale_factor, min_neighbors: how faces
            are found, as for :class:`Recognizer`.
        movements: a column for each of the 51 movements, and ``yaw``,
            ``pitch``, ``roll``.
        profile: a profile file, as for :class:`Recognizer`.

    Returns:
        A pandas DataFrame with the columns of the app's ``timeline.csv``: one
        row per face and frame.

    Raises:
        InputError: a video or folder that cannot be read.
        ModelFileError: the model or its card is missing or broken.
        MissingInstallError: ``identities=True`` without the identity extra.

    Example:
        >>> timeline = fakeblock.analyze_video("talk.mp4", identities=True)
        >>> timeline.groupby("identity")["emotion"].agg(lambda e: e.mode()[0])
    """
    from .identities import IdentityRecorder, process_frame
    from .sources import open_source
    from .timeline import timeline_rows, to_frame, with_identities

    recorder = IdentityRecorder() if identities else None
    source = open_source(str(path))
    try:
        pipeline = Recognizer(model, still=source.is_still, smooth=smooth, min_confidence=min_confidence,
                              detector=detector, min_size=min_size, cascade=cascade, scale_factor=scale_factor,
                              min_neighbors=min_neighbors, movements=movements, profile=profile).pipeline
        rows = []
        for frame in source:
            rows.extend(timeline_rows(frame, process_frame(pipeline, frame, recorder).faces))
        timeline = to_frame(rows, pipeline.classes, movements)
        return with_identities(timeline, recorder.assign()) if recorder else timeline
    finally:
        source.close()
