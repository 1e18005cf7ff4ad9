"""Accuracy side by side on the same PublicTest faces: the shipped model, the
original network if a trained one is in model/, and the `fer` package's model.

    python bench/accuracy.py [--data ../shared/data/fer2013.csv.gz] [--usage PublicTest]
"""

import argparse
import sys

import cv2
import numpy as np
from common import ROOT, SHARED_DATA, table

from fakeblock.training.data import load_dataset
from fakeblock.training.evaluate import classification_metrics, predict_scores


def fer_scores(images: np.ndarray):
    """The `fer` package's mini-Xception with its own preprocessing (64x64, scaled to -1..1)."""
    try:
        from fer.fer import FER
    except ImportError:
        return None
    detector = FER(mtcnn=False)
    size = detector._FER__emotion_target_size
    faces = np.stack([cv2.resize(im, size) for im in images]).astype(np.float32)
    return np.asarray(detector._classify_emotions((faces / 255.0 - 0.5) * 2.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "fer2013.csv.gz"))
    parser.add_argument("--usage", default="PublicTest")
    args = parser.parse_args()
    from fakeblock.core.networks import load_model

    data = load_dataset(args.data, cache_dir=ROOT / "data" / "cache").split(args.usage)
    if not len(data):
        sys.exit(f"{args.data}: no {args.usage} rows")
    candidates = {}
    for path in sorted((ROOT / "model").glob("fer2013*.keras")):
        model = load_model(path)
        candidates[path.name] = predict_scores(model, data.images)
        if path.name == "fer2013.keras":
            candidates[f"{path.name} + TTA"] = predict_scores(model, data.images, tta=True)
    fer = fer_scores(data.images)
    if fer is not None:
        candidates["fer 25.10 (mini-Xception)"] = fer
    else:
        print("(fer not installed: pip install --no-deps -r requirements-bench.txt)")
    rows = []
    for name, scores in candidates.items():
        m = classification_metrics(data.labels, scores.argmax(axis=1), data.classes)
        rows.append({"model": name, "accuracy %": 100 * m["accuracy"], "macro-F1": m["macro_f1"],
                     **{f"{c} recall": m["per_class"][c]["recall"] for c in data.classes}})
    print(f"{args.usage}: {len(data)} faces from {args.data}")
    print(table(rows, ["model", "accuracy %", "macro-F1"] + [f"{c} recall" for c in data.classes]))


if __name__ == "__main__":
    main()
