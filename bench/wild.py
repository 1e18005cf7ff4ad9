"""Whole-pipeline accuracy on a folder of labelled real photos, measured the
app's way: `WebCam.py --source DIR --headless --json`, the largest face per
photo, a photo with no face found counts as wrong. Prints accuracy, balanced
accuracy, per-class recall, the commonest confusions and the ECE of the JSON
confidences.

    python bench/wild.py [--photos wild-dev|posed-dev|DIR] [--model M] [--tta] [--detector haar]

A folder holds ``labels.csv`` (``filename,label``) and ``images/``; a bare
name is looked up in ../shared/data.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from common import ROOT, SHARED_DATA, table

from fakeblock.core.calibration import reliability
from fakeblock.core.modelfile import DEFAULT_MODEL


def print_calibration(scores: dict, truth: pd.Series):
    """ECE of the JSON confidences (largest face) against the photos' labels."""
    frame = pd.DataFrame.from_dict(scores, orient="index")
    labels = truth[frame.index]
    known = labels.isin(frame.columns)
    frame, labels = frame[known], labels[known]
    classes = list(frame.columns)
    result = reliability(frame.to_numpy(), labels.map(classes.index).to_numpy())
    right = (frame.idxmax(axis=1) == labels).mean()
    print(f"confidence (faces found): ECE {result['ece']:.3f}, mean {result['mean_confidence']:.3f} "
          f"for {right:.3f} right")


def print_confusions(predicted: dict, truth: pd.Series, top: int = 6):
    """The commonest mistakes, as ``true -> predicted: count of the class's photos``."""
    called = truth.index.map(lambda name: predicted.get(name, "no face"))
    mistakes = pd.DataFrame({"true": truth.to_numpy(), "called": called})
    mistakes = mistakes[mistakes["true"] != mistakes["called"]].value_counts().head(top)
    sizes = truth.value_counts()
    print("commonest mistakes: " + ", ".join(f"{true} -> {called} {count} of {sizes[true]}"
                                             for (true, called), count in mistakes.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", default="wild-dev",
                        help="a labelled photo folder, or wild-dev / posed-dev in ../shared/data")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--tta", action="store_true")
    parser.add_argument("--detector", default="blazeface")
    args = parser.parse_args()
    photos = Path(args.photos)
    if not photos.exists() and (SHARED_DATA / args.photos).is_dir():
        photos = SHARED_DATA / args.photos
    truth = pd.read_csv(photos / "labels.csv").set_index("filename")["label"]
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "wild.jsonl"
        command = [sys.executable, str(ROOT / "WebCam.py"), "--source", str(photos / "images"),
                   "--headless", "--json", str(jsonl), "--model", args.model, "--detector", args.detector]
        subprocess.run(command + (["--tta"] if args.tta else []), check=True)
        predicted, uncertain, scores = {}, set(), {}
        for line in jsonl.read_text().splitlines():
            record = json.loads(line)
            if record["faces"]:
                predicted[record["source"]] = record["faces"][0]["emotion"]  # largest first
                scores[record["source"]] = record["faces"][0]["scores"]
                if record["faces"][0]["uncertain"]:
                    uncertain.add(record["source"])
    rows = []
    for label in sorted(truth.unique()) + ["all"]:
        names = truth.index if label == "all" else truth.index[truth == label]
        right = sum(predicted.get(n) == truth[n] for n in names)
        found = sum(n in predicted for n in names)
        rows.append({"label": label, "photos": len(names), "face found": found,
                     "accuracy %": 100 * right / len(names)})
    balanced = sum(row["accuracy %"] for row in rows[:-1]) / len(rows[:-1])  # mean per-class recall
    print(f"{Path(args.model).name}{' + TTA' if args.tta else ''}, {args.detector} on {photos}")
    print(table(rows, ["label", "photos", "face found", "accuracy %"]))
    print(f"balanced accuracy (mean per-class recall): {balanced:.2f} %")
    print_confusions(predicted, truth)
    print_calibration(scores, truth)
    sure = set(predicted) - uncertain
    if uncertain and sure:
        def right(names):
            return 100 * sum(predicted[n] == truth[n] for n in names) / len(names)
        print(f"flagged uncertain (--min-confidence): {100 * len(uncertain) / len(predicted):.1f} % of the faces "
              f"found, right {right(uncertain):.1f} % of the time against {right(sure):.1f} % for the rest")


if __name__ == "__main__":
    main()
