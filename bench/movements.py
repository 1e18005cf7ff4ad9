"""The app's movements, landmarks and head pose against MediaPipe's own Face
Landmarker, photo by photo (the largest face of each).

    /tmp/mediapipe/bin/python tests/fixtures/record_mediapipe.py PHOTOS model/face_landmarker.task ref.json
    python bench/movements.py --reference ref.json --photos PHOTOS

(record_mediapipe.py runs in MediaPipe's own virtual environment: see its
docstring.) Prints the mean |ours - MediaPipe's| over the 51 movements, the
median correlation per movement (movements MediaPipe scores the same on every
photo left out), the landmarks' mean error and the head pose's agreement.
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np
from common import table

from fakeblock.app.api import Recognizer
from fakeblock.app.movements import MOVEMENTS
from fakeblock.core.images import load_picture


def mediapipe_pose(matrix) -> dict:
    """Yaw, pitch and roll of MediaPipe's facial transformation matrix, in FakeBlock's convention."""
    r = np.asarray(matrix)[:3, :3]
    return {"yaw": math.degrees(math.atan2(r[0, 2], r[2, 2])),
            "pitch": math.degrees(math.atan2(r[1, 2], math.hypot(r[0, 2], r[2, 2]))),
            "roll": math.degrees(math.atan2(r[1, 0], r[0, 0]))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", required=True, help="record_mediapipe.py's JSON")
    parser.add_argument("--photos", required=True, help="the folder it was recorded on")
    args = parser.parse_args()
    reference = json.loads(Path(args.reference).read_text())["photos"]
    recognize = Recognizer(still=True, landmarks=True)
    ours, theirs, landmark_errors, poses, missing = [], [], [], [], 0
    for name, faces in reference.items():
        found = recognize(load_picture(Path(args.photos) / name))
        if not faces or not found or found[0]["movements"] is None:
            missing += 1
            continue
        face, mediapipe = found[0], faces[0]
        ours.append([face["movements"][m] for m in MOVEMENTS])
        theirs.append([mediapipe["blendshapes"][m] for m in MOVEMENTS])
        landmark_errors.append(np.abs(np.asarray(face["landmarks"])[:, :2]
                                      - np.asarray(mediapipe["landmarks"])[:, :2]).mean())
        poses.append((face["head_pose"], mediapipe_pose(mediapipe["matrix"])))
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    varying = [i for i in range(len(MOVEMENTS)) if theirs[:, i].std() > 0 and ours[:, i].std() > 0]
    correlations = [np.corrcoef(ours[:, i], theirs[:, i])[0, 1] for i in varying]
    print(f"{len(ours)} faces compared, {missing} photos without a face on one side or the other")
    print(table([{"mean |ours - MediaPipe|": float(np.abs(ours - theirs).mean()),
                  "median correlation": float(np.median(correlations)),
                  "movements correlated": len(varying),
                  "landmarks, mean error px": float(np.mean(landmark_errors))}],
                ["mean |ours - MediaPipe|", "median correlation", "movements correlated",
                 "landmarks, mean error px"]))
    rows = []
    for angle in ("yaw", "pitch", "roll"):
        difference = np.array([ours_pose[angle] - their_pose[angle] for ours_pose, their_pose in poses])
        rows.append({"angle": angle, "median |ours|": float(np.median([abs(p[angle]) for p, _ in poses])),
                     "median |MediaPipe|": float(np.median([abs(p[angle]) for _, p in poses])),
                     "median difference": float(np.median(difference)),
                     "p90 |difference|": float(np.percentile(np.abs(difference), 90))})
    print(table(rows, ["angle", "median |ours|", "median |MediaPipe|", "median difference", "p90 |difference|"]))
    worst = sorted(zip(np.abs(ours - theirs).mean(axis=0), MOVEMENTS), reverse=True)[:5]
    print("largest mean differences: " + ", ".join(f"{name} {d:.3f}" for d, name in worst))


if __name__ == "__main__":
    main()
