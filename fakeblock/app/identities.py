"""Who is who across a video (``--identities``): faces recognised again across
cuts and exits.

Tracks follow a face by where it is and what it looks like, and end at cuts
(:class:`~fakeblock.app.tracking.FaceTracker`, :mod:`fakeblock.app.cuts`);
here they become people. Each track
keeps its few sharpest, largest faces (:class:`IdentityRecorder`); when the run
ends they are embedded by dlib's face recognition network (128 numbers; an
optional install, with its weights inside the ``face_recognition_models``
package) and tracks whose faces are close are joined into one identity, never
two tracks on screen at the same time. Embeddings stay in memory and are never
written.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..core.errors import MissingInstallError, install_hint
from ..core.preprocess import to_gray, to_rgb

#: Two tracks whose mean embeddings are closer than this are one person. dlib
#: suggests 0.6; measured on people who look alike (one posed database), that
#: merges most different people, and 0.35 is where as few tracks of one person
#: are split as tracks of two are merged (docs/app.md, "Identities").
SAME_PERSON = 0.35
#: Faces per track kept for embedding: the sharpest and largest seen. The
#: best one is embedded; the others only where two tracks are within
#: ``UNSURE`` of the line (an embedding takes about 0.17 s on one core).
FACES_PER_TRACK = 2
UNSURE = 0.15
#: A track seen on fewer frames than this (a sixth of a second at 30 fps) gets
#: no identity: a face that flickers in for a few frames is mostly not a face
#: (BlazeFace's false finds on the stage clip: 9 of its 17 tracks), and each
#: identity costs an embedding.
MIN_FRAMES = 5
_MARGIN = 0.25  # kept around a face's box, as a share of its side
#: The distance given to two tracks that must never be one person (on screen at
#: once, or one has no face to embed): far enough that no average joins them.
_APART = 1e9


def check_installed():
    """Raise one line naming the install where dlib, its face models or SciPy are missing."""
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
        import scipy  # noqa: F401
    except ImportError:
        raise MissingInstallError(f"--identities needs dlib, its face models and SciPy, an optional install: "
                                  f"{install_hint('identity')}") from None


class FaceEmbedder:
    """dlib's face embedding: a face box in a frame -> 128 numbers, close for the
    same person (:data:`SAME_PERSON`)."""

    def __init__(self):
        check_installed()
        import dlib
        import face_recognition_models as models

        self.dlib = dlib
        self.landmarks = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self.network = dlib.face_recognition_model_v1(models.face_recognition_model_location())

    def __call__(self, image: np.ndarray, box) -> np.ndarray:
        x, y, w, h = (int(v) for v in box)
        rgb = np.ascontiguousarray(to_rgb(image))
        shape = self.landmarks(rgb, self.dlib.rectangle(x, y, x + w, y + h))
        return np.asarray(self.network.compute_face_descriptor(rgb, shape), np.float32)


@dataclass
class _TrackFaces:
    first: int
    last: int
    frames: int = 0
    kept: list = field(default_factory=list)  # (quality, crop, box in the crop)


class IdentityRecorder:
    """Keeps each track's best faces while a video plays, then joins tracks into
    identities (:meth:`assign`)."""

    def __init__(self, embedder=None, same_person: float = SAME_PERSON, faces_per_track: int = FACES_PER_TRACK):
        self.embedder = embedder or FaceEmbedder()
        self.same_person, self.faces_per_track = same_person, faces_per_track
        self.tracks: dict[int, _TrackFaces] = {}
        self.identities: dict[int, int] = {}
        self.thumbnails: dict[int, np.ndarray] = {}

    def add(self, index: int, image: np.ndarray, faces: list):
        """Note this frame's faces (as the pipeline reports them)."""
        for face in faces:
            track = self.tracks.setdefault(face["track"], _TrackFaces(index, index))
            track.last = index
            track.frames += 1
            x, y, w, h = face["box"]
            pad = int(_MARGIN * max(w, h))
            x0, y0 = max(0, x - pad), max(0, y - pad)
            crop = image[y0:y + h + pad, x0:x + w + pad]
            if crop.size == 0:
                continue
            face_pixels = to_gray(image[y:y + h, x:x + w])
            quality = w * h * float(cv2.Laplacian(face_pixels, cv2.CV_32F).var())  # large and sharp
            if len(track.kept) < self.faces_per_track or quality > track.kept[-1][0]:
                track.kept.append((quality, crop.copy(), (x - x0, y - y0, w, h)))
                track.kept.sort(key=lambda kept: kept[0], reverse=True)
                del track.kept[self.faces_per_track:]

    def assign(self) -> dict:
        """``{track: identity}``, identities numbered 1, 2... in order of first
        appearance. Tracks are joined closest first (average linkage) while
        their mean embeddings are under ``same_person`` apart and no two of the
        identity's tracks were on screen at once. A track seen on fewer than
        :data:`MIN_FRAMES` frames gets none."""
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        order = sorted((t for t in self.tracks if self.tracks[t].frames >= MIN_FRAMES),
                       key=lambda t: (self.tracks[t].first, t))
        embeddings = self._embed(order)
        distances = np.full((len(order), len(order)), _APART)
        for i, s in enumerate(order):
            for j, t in enumerate(order[:i]):
                if s in embeddings and t in embeddings and not self._overlap(s, t):
                    distances[i, j] = distances[j, i] = np.linalg.norm(embeddings[s] - embeddings[t])
        np.fill_diagonal(distances, 0)
        if len(order) > 1:
            joins = linkage(squareform(distances), method="average")
            labels = fcluster(joins, self.same_person, criterion="distance")
        else:
            labels = np.ones(len(order), int)
        groups: dict[int, list] = {}
        for track, label in zip(order, labels):  # in order of first appearance
            groups.setdefault(label, []).append(track)
        self.identities = {t: n for n, group in enumerate(groups.values(), 1) for t in group}
        self.thumbnails = {}
        for n, group in enumerate(groups.values(), 1):
            kept = [k for t in group for k in self.tracks[t].kept]
            if kept:
                self.thumbnails[n] = max(kept, key=lambda k: k[0])[1]
        return self.identities

    def _embed(self, order: list) -> dict:
        """Each track's embedding: of its best face; where that leaves a pair of
        tracks near the line (``UNSURE`` of it), the mean of its best faces."""
        faces = {t: self.tracks[t].kept for t in order if self.tracks[t].kept}
        embedded = {t: [self.embedder(crop, box) for _, crop, box in kept[:1]] for t, kept in faces.items()}
        unsure = {t for s in embedded for t in embedded if s != t and not self._overlap(s, t) and
                  abs(np.linalg.norm(embedded[s][0] - embedded[t][0]) - self.same_person) < UNSURE}
        for t in unsure:
            embedded[t] += [self.embedder(crop, box) for _, crop, box in faces[t][1:]]
        return {t: np.mean(vectors, axis=0) for t, vectors in embedded.items()}

    def _overlap(self, s: int, t: int) -> bool:
        return self.tracks[s].first <= self.tracks[t].last and self.tracks[t].first <= self.tracks[s].last


def process_frame(pipeline, frame, identities: IdentityRecorder | None = None):
    """``pipeline.process`` for one :class:`~fakeblock.app.sources.Frame`; with
    ``identities``, the faces are kept for telling people apart."""
    result = pipeline.process(frame.image, frame.index, frame.new_scene)
    if identities is not None:
        identities.add(frame.index, frame.image, result.faces)
    return result
