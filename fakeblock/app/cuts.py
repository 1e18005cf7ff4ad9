"""Where following a face must stop: a cut, and a face that becomes another.

A cut is a property of the frame (:class:`SceneCuts`): the colours of the whole
frame change at once. It ends every track. A cut from one face to another on
the same background changes too few pixels for that, so each followed face is
also checked against its own picture in the frame before (:func:`same_face`):
the face at its new place against the face at its old one, allowing its box to
have moved, so that speed alone never ends a track.

Why not PySceneDetect: its content detector compares frames pixel by pixel, so
a whole picture jumping 19 px scored 17-38 against its threshold of 27 (real
cuts 48-91), and every jump would end the tracks. A colour histogram does not
move with the picture: jumps 0.11-0.14, cuts 0.46-0.88 (docs/app.md, "Tracks").
"""

from dataclasses import dataclass

import cv2
import numpy as np

from ..core.preprocess import square_crop, to_gray

#: Bhattacharyya distance between the colour histograms of two frames above
#: which the second begins a new shot: within a shot of the stage clip at most
#: 0.18, a 19-px jump of a whole photo 0.11-0.14; cuts 0.46-0.88.
CUT_DISTANCE = 0.3
_SMALL = (160, 120)  # the frame's copy the histogram is taken of
_BINS = [16, 8, 8]  # hue, saturation, value
_RANGES = [0, 180, 0, 256, 0, 256]

FACE_PICTURE = 24  # side of a face's gray picture, pixels
FACE_MARGIN = 0.15  # the picture kept around it, as a share of the box's side: how far a box may be off
#: Two pictures show one face where their gray correlation (the best over small
#: shifts) less the distance of their colours is at least this. Measured: one
#: face from frame to frame, sweeps at 16 px a frame and the stage clip's
#: performer turning included, 0.30 and up; a cut between the test clips' two
#: people -0.37; different people of one posed database, -0.09 on the median.
SAME_FACE = 0.25


def colour_histogram(image: np.ndarray) -> np.ndarray:
    """The normalised hue-saturation-value histogram of a BGR (or gray) picture."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    histogram = cv2.calcHist([cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2HSV)], [0, 1, 2], None, _BINS, _RANGES)
    return cv2.normalize(histogram, histogram).ravel()


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance of two :func:`colour_histogram` s: 0 alike, 1 nothing in common."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


class SceneCuts:
    """Tells, frame by frame, whether a frame begins a new shot."""

    def __init__(self, distance: float = CUT_DISTANCE):
        self.distance, self.last = distance, None

    def is_cut(self, image: np.ndarray) -> bool:
        """Whether ``image``, the next frame, begins a new shot."""
        histogram = colour_histogram(cv2.resize(image, _SMALL, interpolation=cv2.INTER_AREA))
        cut = self.last is not None and colour_distance(self.last, histogram) > self.distance
        self.last = histogram
        return cut


@dataclass
class FacePicture:
    """What :func:`same_face` compares: the face with a margin around it, small,
    gray and of equal brightness and contrast, and the colours of the face."""

    pixels: np.ndarray
    colours: np.ndarray


def face_picture(image: np.ndarray, box) -> FacePicture:
    """The :class:`FacePicture` of the face in ``box`` of a BGR (or gray) frame."""
    x, y, w, h = box
    side = round(FACE_PICTURE * (1 + 2 * FACE_MARGIN))
    small, _ = square_crop(image, (x + w / 2, y + h / 2), (1 + 2 * FACE_MARGIN) * max(w, h), side,
                           interpolation=cv2.INTER_AREA, border=cv2.BORDER_REPLICATE)
    inner = round(FACE_PICTURE * FACE_MARGIN)
    pixels = to_gray(small).astype(np.float32)
    return FacePicture((pixels - pixels.mean()) / (pixels.std() + 1e-6),
                       colour_histogram(small[inner:inner + FACE_PICTURE, inner:inner + FACE_PICTURE]))


def same_face(before: FacePicture, now: FacePicture) -> bool:
    """Whether two :class:`FacePicture` s show one face: the middle of ``now``
    (the face itself) matched anywhere within ``before`` (the margin lets the
    box have moved), less how far apart their colours are (:data:`SAME_FACE`)."""
    inner = round(FACE_PICTURE * FACE_MARGIN)
    face = now.pixels[inner:inner + FACE_PICTURE, inner:inner + FACE_PICTURE]
    alike = float(cv2.matchTemplate(before.pixels, face, cv2.TM_CCOEFF_NORMED).max())
    return alike - colour_distance(before.colours, now.colours) >= SAME_FACE
