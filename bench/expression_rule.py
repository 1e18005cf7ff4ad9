"""Does the face's movements' FACS prototype help the network name a posed
expression? Measured the app's way on labelled photo folders (the largest face,
no face found counted wrong), for a range of weights of the rule.

    python bench/expression_rule.py [--photos posed-dev wild-dev] [--weights 0 1 2 4 8]

The rule (not fitted): each emotion's prototype in Ekman and Friesen's action
units (EMFACS), read from the movements that stand nearest to those units
(docs/app.md); its strength is the mean of those movements' scores (left and
right averaged). A face's scores are multiplied by exp(weight x strength) and
normalised. The movements and scores of each photo are cached in
~/.cache/fakeblock/bench (they are derived from the photos: never commit them).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from common import SHARED_DATA, table

from fakeblock.app.api import Recognizer
from fakeblock.app.movements import MOVEMENTS
from fakeblock.core.images import load_picture

#: Each emotion's prototype, as the movements nearest its action units.
PROTOTYPES = {
    "angry": ["browDown", "eyeWide", "mouthPress"],  # AU4 + AU5 + AU23/24
    "disgust": ["noseSneer", "mouthUpperUp", "mouthFrown"],  # AU9 + AU10 + AU15
    "fear": ["browInnerUp", "browOuterUp", "browDown", "eyeWide", "mouthStretch", "jawOpen"],  # AU1+2+4+5+20+26
    "happy": ["cheekSquint", "mouthSmile"],  # AU6 + AU12
    "sad": ["browInnerUp", "browDown", "mouthFrown"],  # AU1 + AU4 + AU15
    "surprise": ["browInnerUp", "browOuterUp", "eyeWide", "jawOpen"],  # AU1 + AU2 + AU5 + AU26
    "neutral": [],
}


def movement(movements: dict, name: str) -> float:
    """A movement's score, left and right averaged where it has both."""
    sides = [movements[n] for n in (name, name + "Left", name + "Right") if n in movements]
    return float(np.mean(sides))


def strengths(movements: dict, classes) -> np.ndarray:
    return np.array([np.mean([movement(movements, m) for m in PROTOTYPES[c]]) if PROTOTYPES.get(c) else 0.0
                     for c in classes])


def faces_of(folder: Path, cache: Path) -> pd.DataFrame:
    """Each labelled photo's largest face: its scores and movements (cached)."""
    if cache.exists():
        return pd.read_json(cache, orient="records")
    labels = pd.read_csv(folder / "labels.csv")
    recognize, rows = Recognizer(still=True, movements=True), []
    for name, label in zip(labels["filename"], labels["label"]):
        faces = recognize(load_picture(folder / "images" / name))
        face = faces[0] if faces else None
        rows.append({"photo": name, "label": label, "scores": face and face["scores"],
                     "movements": face and face["movements"]})
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(rows))
    return pd.DataFrame(rows)


def measure(faces: pd.DataFrame, weight: float) -> dict:
    right, by_class = [], {}
    for label, scores, moves in zip(faces["label"], faces["scores"], faces["movements"]):
        guess = None
        if scores:
            classes = list(scores)
            values = np.array([scores[c] for c in classes])
            if moves:
                values = values * np.exp(weight * strengths(moves, classes))
            guess = classes[int(np.argmax(values))]
        right.append(guess == label)
        by_class.setdefault(label, []).append(guess == label)
    recall = {c: float(np.mean(v)) for c, v in by_class.items()}
    return {"accuracy": 100 * float(np.mean(right)), "balanced": 100 * float(np.mean(list(recall.values()))),
            **{f"{c} recall": recall[c] for c in ("angry", "fear", "disgust") if c in recall}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", nargs="+", default=["posed-dev", "wild-dev"])
    parser.add_argument("--weights", nargs="+", type=float, default=[0, 1, 2, 4, 8])
    args = parser.parse_args()
    cache_root = Path("~/.cache/fakeblock/bench").expanduser()
    rows = []
    for photos in args.photos:
        folder = Path(photos) if Path(photos).is_dir() else SHARED_DATA / photos
        faces = faces_of(folder, cache_root / f"expression-rule-{folder.name}.json")
        for weight in args.weights:
            rows.append({"photos": folder.name, "weight": weight, **measure(faces, weight)})
    print(table(rows, ["photos", "weight", "accuracy", "balanced", "angry recall", "fear recall", "disgust recall"]))
    print(f"(the {len(MOVEMENTS)} movements' prototypes: {PROTOTYPES})")


if __name__ == "__main__":
    main()
