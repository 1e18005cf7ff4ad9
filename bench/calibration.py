"""How well-calibrated the shipped FER2013 model's confidence is, by method:
none, one temperature (Guo et al.), an isotonic curve, and FakeBlock's isotonic
curve in eight levels. Each method is fitted on one half of PublicTest and
measured (ECE, 15 bins) on the other, both ways round, over 20 random halvings;
beside them, the ECE that a perfectly calibrated model with FakeBlock's
confidences would still show on a half that size (sampling noise). Then, for
the issue's bar, the two isotonic methods fitted on all of PublicTest and
measured on PrivateTest's 3,589 faces, simulated: faces drawn from PublicTest's
scores, each right with the probability that an isotonic curve fitted on all
of PublicTest gives it (mean ECE, and how often it is at most 0.02).
``--votes`` fits and measures against the FER+ annotators' vote share instead
of the label, as for a model trained with ``--votes``.

    python bench/calibration.py [--model model/fer2013.keras] [--tta]
    python bench/calibration.py --model model/fer2013-joint.keras --votes ../shared/data/ferplus
"""

import argparse

import numpy as np
from common import ROOT, SHARED_DATA, table
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from fakeblock.core.calibration import agreement, calibrate, fit_confidence_curve, isotonic_fit, reliability
from fakeblock.training.data import ferplus_votes_for, load_dataset, load_ferplus_folder
from fakeblock.training.evaluate import predict_scores

PRIVATE_TEST = 3589  # faces in FER2013's PrivateTest, where the issue's bar is measured


def fit_temperature(scores, labels, votes) -> float:
    logs = np.log(np.maximum(scores, 1e-12))
    onehot = np.eye(scores.shape[1])[labels]
    target = np.where(np.isnan(votes), onehot, votes) if votes is not None else onehot
    result = minimize_scalar(lambda t: -np.mean(np.sum(target * log_softmax(logs / np.exp(t), axis=1), axis=1)),
                             bounds=(-3, 3), method="bounded")
    return float(np.exp(result.x))


def with_temperature(scores, temperature):
    return softmax(np.log(np.maximum(scores, 1e-12)) / temperature, axis=1)


def fit_isotonic(scores, right):
    """The continuous isotonic curve, before FakeBlock bins it into levels."""
    curve = isotonic_fit(scores, right)
    return {"top_score": curve.X_thresholds_, "calibrated": curve.y_thresholds_}


def simulated_private_test(scores, right, rng, repeats=200) -> dict:
    """ECEs on PrivateTest-sized samples after fitting on PublicTest-sized ones,
    right/wrong drawn from the isotonic curve fitted on all of ``scores``."""
    truth = calibrate(scores, fit_isotonic(scores, right)).max(axis=1)
    eces = {"isotonic curve": [], "isotonic curve, 8 levels (FakeBlock)": []}
    for _ in range(repeats):
        fit, held = rng.integers(0, len(scores), len(scores)), rng.integers(0, len(scores), PRIVATE_TEST)
        fit_right, held_right = rng.random(len(fit)) < truth[fit], rng.random(PRIVATE_TEST) < truth[held]
        held_labels = np.where(held_right, scores[held].argmax(axis=1), -1)
        for name, fitter in zip(eces, (fit_isotonic, fit_confidence_curve)):
            calibrated = calibrate(scores[held], fitter(scores[fit], fit_right))
            eces[name].append(reliability(calibrated, held_labels)["ece"])
    return eces


def noise_floor(confidence, n, rng, repeats=200) -> float:
    """Mean ECE of n faces whose right/wrong is drawn from their (true) confidence
    (with votes, an upper bound: a vote share varies less than right/wrong)."""
    eces = []
    for _ in range(repeats):
        c = rng.choice(confidence, n)
        right = rng.random(n) < c
        eces.append(reliability(np.stack([c, 1 - c], axis=1), np.where(right, 0, 1))["ece"])
    return float(np.mean(eces))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "model" / "fer2013.keras"))
    parser.add_argument("--data", default=str(SHARED_DATA / "fer2013.csv.gz"))
    parser.add_argument("--tta", action="store_true")
    parser.add_argument("--votes", metavar="FERPLUS_DIR")
    args = parser.parse_args()
    from fakeblock.core.networks import load_model

    data = load_dataset(args.data, cache_dir=ROOT / "data" / "cache").split("PublicTest")
    scores = predict_scores(load_model(args.model), data.images, tta=args.tta)
    labels = data.labels
    votes = (ferplus_votes_for(data, load_ferplus_folder(args.votes, skip_bad_rows=True)) if args.votes
             else np.full(scores.shape, np.nan))
    rng = np.random.default_rng(0)
    results = {"none": [], "temperature": [], "isotonic curve": [], "isotonic curve, 8 levels (FakeBlock)": []}
    for _ in range(20):
        order = rng.permutation(len(labels))
        halves = order[: len(order) // 2], order[len(order) // 2:]
        for fit, held in (halves, halves[::-1]):
            temperature = fit_temperature(scores[fit], labels[fit], votes[fit])
            right = agreement(scores[fit], labels[fit], votes[fit])
            isotonic, levels = fit_isotonic(scores[fit], right), fit_confidence_curve(scores[fit], right)
            for name, calibrated in (("none", scores[held]),
                                     ("temperature", with_temperature(scores[held], temperature)),
                                     ("isotonic curve", calibrate(scores[held], isotonic)),
                                     ("isotonic curve, 8 levels (FakeBlock)", calibrate(scores[held], levels))):
                results[name].append(reliability(calibrated, labels[held], votes=votes[held])["ece"])
    confidence = calibrate(scores, fit_confidence_curve(scores, agreement(scores, labels, votes))).max(1)
    rows = [{"method": name, "ECE on the held half": f"{np.mean(eces):.4f}"} for name, eces in results.items()]
    for faces, size in ((len(labels) // 2, "same size"), (PRIVATE_TEST, "PrivateTest's size")):
        rows.append({"method": f"perfectly calibrated, {size} (noise)",
                     "ECE on the held half": f"{noise_floor(confidence, faces, rng):.4f}"})
    print(f"{args.model}{' + TTA' if args.tta else ''}: PublicTest halves of {len(labels) // 2} faces, "
          f"against {'the FER+ vote share' if args.votes else 'the label'}")
    print(table(rows, ["method", "ECE on the held half"]))
    if not args.votes:
        rows = [{"method": name, "mean ECE": f"{np.mean(e):.4f}", "ECE <= 0.02": f"{np.mean(np.array(e) <= 0.02):.0%}"}
                for name, e in simulated_private_test(scores, agreement(scores, labels), rng).items()]
        print(f"\nFitted on {len(labels)} faces, measured on {PRIVATE_TEST} (simulated, 200 draws)")
        print(table(rows, ["method", "mean ECE", "ECE <= 0.02"]))


if __name__ == "__main__":
    main()
