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

from ..core.images import as_picture, load_picture
from .pipeline import MIN_CONFIDENCE, FaceRecord, build_pipeline


class Recognizer:
    """Emotions of the faces in the frames of your own loop (a camera, a video
    reader, generated images): call it with each frame, in order.

    Args:
        model: a ``.keras`` path (default: the shipped model).
        still: every frame is a separate photo (no following, faces at the
            edge searched for, the model card's photo rule applied).
        **options: the fields of :class:`~fakeblock.app.pipeline.PipelineOptions`
            (``smooth``, ``detect_every``, ``min_confidence``, ``tta``,
            ``engine``, ``detector``, ``min_size``, ``cascade``...).

    Example:
        >>> recognize = fakeblock.Recognizer(smooth=3)
        >>> faces = recognize(frame)   # each call: the next frame, in order
    """

    def __init__(self, model=None, *, still: bool = False, **options):
        self.still = still
        self.pipeline = build_pipeline(model, still=still, **options)
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
def _photo_recognizer(model, tta: bool, min_confidence: float) -> Recognizer:
    return Recognizer(model, still=True, tta=tta, min_confidence=min_confidence)


def analyze_image(image, model=None, *, tta: bool = False,
                  min_confidence: float = MIN_CONFIDENCE) -> list[FaceRecord]:
    """Every face in one photo.

    Args:
        image: a file path, or a numpy array (gray, BGR or BGRA; uint8, uint16
            or float).
        model: a ``.keras`` path (default: the shipped model); loaded once and
            kept for the next call with the same settings.
        tta: also classify the mirrored faces (the shipped model's photo rule
            does this already).
        min_confidence: a face whose calibrated top score is under it is
            flagged ``uncertain``.

    Returns:
        The faces as dicts (see the module's docstring), largest first; an
        empty list when there is none.

    Raises:
        FakeBlockError: a file that is missing or not an image, or an array it
            cannot read, with a message that says why.

    Example:
        >>> [face["emotion"] for face in fakeblock.analyze_image("photo.jpg")]
        ['happy']
    """
    if isinstance(image, (str, Path)):
        image = load_picture(image)
    model = str(model) if model is not None else None
    return _photo_recognizer(model, tta, min_confidence)(image)


def analyze_video(path, model=None, *, smooth: int = 5, min_confidence: float = MIN_CONFIDENCE,
                  identities: bool = False, **detector_options):
    """The emotion timeline of a video (or a folder of images).

    Args:
        path: a video file, or a folder of images.
        model: a ``.keras`` path (default: the shipped model).
        smooth: frames each face's scores are averaged over (0: off).
        min_confidence: a face under it is flagged ``uncertain``.
        identities: tell people apart across cuts and exits (needs
            requirements-identity.txt): adds an ``identity`` column.
        **detector_options: ``detector`` (``"blazeface"`` or ``"haar"``),
            ``min_size``, ``cascade``, ``scale_factor``, ``min_neighbors``.

    Returns:
        A pandas DataFrame with the columns of the app's ``timeline.csv``: one
        row per face and frame.

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
        pipeline = build_pipeline(model, still=source.is_still, smooth=smooth,
                                  min_confidence=min_confidence, **detector_options)
        rows = []
        for frame in source:
            rows.extend(timeline_rows(frame, process_frame(pipeline, frame, recorder).faces))
        timeline = to_frame(rows, pipeline.classes)
        return with_identities(timeline, recorder.assign()) if recorder else timeline
    finally:
        source.close()
