"""What the face detectors and the tracker share: the border searched around
still photos, the order faces come in, and how much two boxes overlap."""

#: Border added around still photos before detection, as a share of the shorter
#: side: photos are often tight crops that cut the face (on the wild-dev photos
#: it raised faces found from 1,243 to 1,468 of 1,716, and the whole pipeline's
#: accuracy there from 43.1 % to 46.5 %). Video frames skip it: speed.
PHOTO_PAD = 0.15


def largest_first(boxes) -> list:
    """``(x, y, w, h)`` boxes sorted by area, largest first."""
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def iou(a, b) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0
