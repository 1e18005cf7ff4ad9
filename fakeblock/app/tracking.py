"""Following faces from frame to frame, and smoothing each face's scores."""

from dataclasses import dataclass

import numpy as np

from .cuts import same_face
from .detection import iou


@dataclass
class Track:
    """One face followed across frames."""

    id: int
    box: tuple
    scores: np.ndarray
    last_seen: int
    picture: np.ndarray | None = None  # the face as it looked when last seen (cuts.face_picture)


def _reach(track: Track, box, frames_apart: int) -> float:
    """How far ``box`` is from where ``track`` could have got to, in the
    track's face sides: its centre may move up to :data:`FaceTracker.STEP` sides
    a frame (a quick turn of the head, a camera pan), and a face lost for a few
    frames may come back as far as it could have gone meanwhile."""
    (x, y, w, h), (tx, ty, tw, th) = box, track.box
    side = max(tw, th)
    distance = np.hypot(x + w / 2 - tx - tw / 2, y + h / 2 - ty - th / 2) / side
    return distance / frames_apart


class FaceTracker:
    """Follows faces by where they are, how large, and what they look like, and
    smooths each face's scores over time.

    ``smooth``: frames to average over (an exponential moving average); 0 or 1
    turns smoothing off, but faces are still followed, so track ids exist.
    A face continues a track where its box overlaps the track's last box, or its
    centre is within reach of it (:data:`STEP` face sides a frame since it was
    last seen), its size is alike (:data:`SIZE_RATIO`), and, where the
    pictures are given, it still looks like the face the track showed
    (:func:`~fakeblock.app.cuts.same_face`). A face unseen for ``patience``
    frames ends its track; a new face gets a new id.
    """

    STEP = 0.6
    SIZE_RATIO = 1.6

    def __init__(self, smooth: int = 5, patience: int = 10, min_iou: float = 0.3):
        self.alpha = 1.0 if smooth <= 1 else 2.0 / (smooth + 1)
        self.patience, self.min_iou = patience, min_iou
        self.tracks: list[Track] = []
        self.next_id = 1

    def _candidates(self, frame_index: int, boxes, pictures) -> list:
        """``(closeness, box, track)`` of every pair that may be one face, closest first."""
        pairs = []
        for i, box in enumerate(boxes):
            for j, track in enumerate(self.tracks):
                sides = max(box[2], box[3]) / max(track.box[2], track.box[3])
                if not 1 / self.SIZE_RATIO <= sides <= self.SIZE_RATIO:
                    continue
                reach = _reach(track, box, frame_index - track.last_seen)
                if reach > self.STEP and iou(box, track.box) < self.min_iou:
                    continue
                if pictures is not None and track.picture is not None and not same_face(track.picture, pictures[i]):
                    continue
                pairs.append((reach, i, j))
        return sorted(pairs)

    def update(self, frame_index: int, boxes, scores, pictures=None) -> list:
        """Match this frame's faces to tracks; returns one Track per box, in box order,
        with the smoothed scores. ``pictures``: each face's
        :func:`~fakeblock.app.cuts.face_picture`, so a face that became another
        (a cut to someone at the same place) starts a new track."""
        self.tracks = [t for t in self.tracks if frame_index - t.last_seen <= self.patience]
        matched, used = {}, set()
        for _, i, j in self._candidates(frame_index, boxes, pictures):
            if i not in matched and j not in used:
                matched[i] = self.tracks[j]
                used.add(j)
        result = []
        for i, box in enumerate(boxes):
            track = matched.get(i)
            if track is None:
                track = Track(self.next_id, tuple(box), np.asarray(scores[i], np.float32), frame_index)
                self.next_id += 1
                self.tracks.append(track)
            else:
                track.scores = self.alpha * np.asarray(scores[i]) + (1 - self.alpha) * track.scores
                track.box, track.last_seen = tuple(box), frame_index
            track.picture = None if pictures is None else pictures[i]
            result.append(track)
        return result

    def reset(self):
        """Forget all faces (between unrelated images, and at a cut)."""
        self.tracks = []
