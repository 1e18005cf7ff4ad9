"""Confidence that means what it says: calibrating the top score, and measuring it.

A model's top score is *calibrated* when, of the faces it gives 70 %, about
70 % are right. FakeBlock fits, on faces the model did not train on, an
increasing curve from the model's top score to the share of faces that are
right at that score (isotonic regression; Zadrozny and Elkan, 2002), then
averages the curve within eight bins of equal numbers of faces, so that a
model's confidence takes eight values, like a forecast of rain in steps of
ten per cent ("scaling-binning"; Kumar, Liang and Ma, 2019: a confidence
with a few values can be checked on a few thousand faces, a continuous one
cannot). The other classes' scores are rescaled so that they still sum to
one. The curve never changes which class is on top, so accuracy is
unchanged. One curve is fitted for plain scores and one for the
mirrored-face average (``--tta``); both are kept in the model card
(``calibration``), and every path that scores faces (evaluation, the app,
``analyze_video``) applies them.

Temperature scaling, the usual one-number method, was measured first and
left: label smoothing piles the FakeBlock models' top scores up near 0.91,
where they are right more often than that, while scores near 0.8 are right
less often, and no single temperature mends both (docs/models.md,
"Confidence calibration").
"""

import numpy as np

ECE_BINS = 15
MOST_SURE = 0.99
LEVELS = 8  # values a calibrated top score takes
STEP = 5e-7  # width of a step in the curve's breakpoints


def isotonic_fit(scores: np.ndarray, right: np.ndarray):
    """The fitted isotonic regression (scikit-learn's) of ``right`` on the top
    score, bounded to chance (one over the classes) ... ``MOST_SURE``."""
    from sklearn.isotonic import IsotonicRegression

    isotonic = IsotonicRegression(y_min=1 / scores.shape[1], y_max=MOST_SURE, out_of_bounds="clip")
    return isotonic.fit(scores.max(axis=1).astype(float), right.astype(float))


def fit_confidence_curve(scores: np.ndarray, right: np.ndarray, levels: int = LEVELS) -> dict:
    """The curve from top score to the share of ``right`` predictions: isotonic,
    then flat within ``levels`` bins of equal numbers of faces (the mean of the
    isotonic curve over each bin's faces). Returned as the breakpoints of a
    piecewise-linear curve, ``{"top_score": [...], "calibrated": [...]}``, for
    the card: a bin's edge is a step there, a rise over ``STEP``.

    The curve stays between chance (one over the classes) and ``MOST_SURE``:
    the few faces at either end of the validation set would otherwise pin it
    to 0 or to a certainty that no face deserves."""
    top = scores.max(axis=1).astype(float)
    fitted = isotonic_fit(scores, right).predict(top)
    ranked = np.sort(top)
    edges = np.unique(np.round(ranked[np.arange(1, levels) * len(ranked) // levels], 6))
    edges = edges[edges > ranked[0]]  # no empty bin below the lowest score
    which = np.searchsorted(edges, top, side="right")
    level = np.bincount(which, fitted, len(edges) + 1) / np.bincount(which, minlength=len(edges) + 1)
    top_score = np.concatenate([[0.0], np.column_stack([edges - STEP, edges]).ravel(), [1.0]])
    return {"top_score": [round(float(v), 7) for v in top_score],
            "calibrated": [round(float(v), 6) for v in np.repeat(level, 2)]}


def calibrate(scores: np.ndarray, curve: dict | None) -> np.ndarray:
    """Scores ``(n, classes)`` with the top one mapped through ``curve`` and the
    others rescaled to sum to one with it; the top class stays on top."""
    if not curve or not len(scores):
        return scores
    rows = np.arange(len(scores))
    best = scores.argmax(axis=1)
    top = scores[rows, best]
    others = np.where(np.eye(scores.shape[1], dtype=bool)[best], 0.0, scores)
    second = others.max(axis=1)
    new_top = np.interp(top, curve["top_score"], curve["calibrated"])
    # never below the level where a rescaled runner-up would overtake the top class
    new_top = np.maximum(new_top, second / np.maximum(1 - top + second, 1e-12) + 1e-6)
    scale = (1 - new_top) / np.maximum(1 - top, 1e-12)
    calibrated = others * scale[:, None]
    calibrated[rows, best] = new_top
    return (calibrated / calibrated.sum(axis=1, keepdims=True)).astype(np.float32)


def agreement(scores: np.ndarray, labels: np.ndarray, votes: np.ndarray | None = None) -> np.ndarray:
    """How right each face's top class is: 1 or 0 against its label, or, given
    ``votes`` (the FER+ annotators' label distributions), the share of the
    annotators who chose it: what a model that learned from votes is calibrated
    to. A face without votes (a row of NaN) is measured against its label."""
    best = scores.argmax(axis=1)
    right = (best == labels).astype(float)
    if votes is None:
        return right
    share = votes[np.arange(len(best)), best].astype(float)
    return np.where(np.isnan(share), right, share)


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS,
                votes: np.ndarray | None = None) -> dict:
    """Expected calibration error over ``bins`` equal-width bins of the top score,
    the mean top score, and per bin: faces, mean confidence and accuracy (with
    ``votes``: the mean annotators' share, :func:`agreement`)."""
    confidence = scores.max(axis=1)
    right = agreement(scores, labels, votes)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    mean_confidence = np.bincount(which, confidence, bins) / np.maximum(counts, 1)
    accuracy = np.bincount(which, right, bins) / np.maximum(counts, 1)
    ece = float(np.sum(counts * np.abs(mean_confidence - accuracy)) / max(1, len(labels)))
    return {"ece": ece, "mean_confidence": float(confidence.mean()) if len(labels) else 0.0,
            "bins": {"faces": counts.tolist(), "confidence": mean_confidence.tolist(),
                     "accuracy": accuracy.tolist()}}


def card_curve(card: dict | None, tta: bool, photo: bool = False) -> dict | None:
    """The calibration curve a model card records for plain or ``--tta`` scores,
    or (``photo``) for scores under the card's photo rule (:func:`reweigh`)."""
    calibration = (card or {}).get("calibration") or {}
    return calibration.get("photo" if photo else "tta" if tta else "plain")


def reweigh(scores: np.ndarray, class_weights) -> np.ndarray:
    """Scores times per-class weights, summing to one again: a decision rule that
    moves which class comes first (a model card's ``photo_rule``)."""
    weighted = scores * np.asarray(class_weights, np.float32)
    return weighted / weighted.sum(axis=1, keepdims=True)


def prior_weights(class_shares, tau: float) -> list:
    """Weights that divide the scores by the training class shares to the power
    ``tau`` (prior correction; 1 would fully undo the training set's imbalance),
    scaled to a mean of one."""
    weights = np.asarray(class_shares, float) ** -tau
    return [round(float(w), 6) for w in weights / weights.mean()]
