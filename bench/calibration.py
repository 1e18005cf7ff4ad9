"""How well-calibrated the shipped FER2013 model's confidence is, by method:
none, one temperature (Guo et al.), and FakeBlock's isotonic curve. Each method
is fitted on one half of PublicTest and measured (ECE, 15 bins) on the other,
both ways round, over 5 random halvings; beside them, the ECE a perfectly
calibrated model would still show on a half that size (sampling noise).
``--votes`` fits and measures against the FER+ annotators' vote share instead
of the label, as for a model trained with ``--votes``.

    python3 bench/calibration.py [--model model/fer2013.keras] [--tta]
    python3 bench/calibration.py --model model/fer2013-joint.keras --votes ../shared/data/ferplus
"""

import argparse

import numpy as np
from common import ROOT, SHARED_DATA, table
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from fakeblock.calibration import agreement, calibrate, fit_confidence_curve, reliability
from fakeblock.data import ferplus_votes_for, load_dataset, load_ferplus_folder
from fakeblock.evaluate import predict_scores


def fit_temperature(scores, labels, votes) -> float:
    logs = np.log(np.maximum(scores, 1e-12))
    onehot = np.eye(scores.shape[1])[labels]
    target = np.where(np.isnan(votes), onehot, votes) if votes is not None else onehot
    result = minimize_scalar(lambda t: -np.mean(np.sum(target * log_softmax(logs / np.exp(t), axis=1), axis=1)),
                             bounds=(-3, 3), method="bounded")
    return float(np.exp(result.x))


def with_temperature(scores, temperature):
    return softmax(np.log(np.maximum(scores, 1e-12)) / temperature, axis=1)


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
    from fakeblock.models import load_model

    data = load_dataset(args.data, cache_dir=ROOT / "data" / "cache").split("PublicTest")
    scores = predict_scores(load_model(args.model), data.images, tta=args.tta)
    labels = data.labels
    votes = (ferplus_votes_for(data, load_ferplus_folder(args.votes, skip_bad_rows=True)) if args.votes
             else np.full(scores.shape, np.nan))
    rng = np.random.default_rng(0)
    results = {"none": [], "temperature": [], "isotonic curve (FakeBlock)": []}
    for _ in range(5):
        order = rng.permutation(len(labels))
        halves = order[: len(order) // 2], order[len(order) // 2:]
        for fit, held in (halves, halves[::-1]):
            temperature = fit_temperature(scores[fit], labels[fit], votes[fit])
            curve = fit_confidence_curve(scores[fit], agreement(scores[fit], labels[fit], votes[fit]))
            for name, calibrated in (("none", scores[held]),
                                     ("temperature", with_temperature(scores[held], temperature)),
                                     ("isotonic curve (FakeBlock)", calibrate(scores[held], curve))):
                results[name].append(reliability(calibrated, labels[held], votes=votes[held])["ece"])
    floor = noise_floor(calibrate(scores, fit_confidence_curve(scores, agreement(scores, labels, votes))).max(1),
                        len(labels) // 2, rng)
    rows = [{"method": name, "ECE on the held half": f"{np.mean(eces):.4f}"} for name, eces in results.items()]
    rows.append({"method": "perfectly calibrated, same size (noise)", "ECE on the held half": f"{floor:.4f}"})
    print(f"{args.model}{' + TTA' if args.tta else ''}: PublicTest halves of {len(labels) // 2} faces, "
          f"against {'the FER+ vote share' if args.votes else 'the label'}")
    print(table(rows, ["method", "ECE on the held half"]))


if __name__ == "__main__":
    main()
