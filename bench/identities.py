"""What --identities costs: a 10 s 640x480 clip of two real people cut back and
forth (A B A B A, 2 s each), and the real 9 s stage clip where ../shared/data
has it, analysed headless into --summary with and without --identities, in the
same run; the whole command's wall time, median of --runs runs after a first.

    python bench/identities.py [--runs 3]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import ROOT, SHARED_DATA, table


def people() -> dict:
    """NASA's Eileen Collins (scikit-image) and the US Navy's Grace Hopper (matplotlib's sample data)."""
    from matplotlib import cbook
    from skimage import data

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
    return {"A": np.ascontiguousarray(data.astronaut()[:, :, ::-1][20:220, 130:320]),
            "B": cv2.resize(hopper[20:420, 80:440], (190, 200))}


def write_clip(path: Path, shots: str = "ABABA", shot_frames: int = 60):
    faces = people()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for i in range(shot_frames * len(shots)):
        frame = np.full((480, 640, 3), 90, np.uint8)
        y = 140 + (i % shot_frames) // 10
        frame[y:y + 200, 220:410] = faces[shots[i // shot_frames]]
        writer.write(frame)
    writer.release()


def seconds(args: list, runs: int) -> float:
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "WebCam.py"), *args], check=True, capture_output=True)
        if run:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = {"A B A B A, made": Path(tmp) / "ababa.avi", "the stage clip": SHARED_DATA / "videos" / "stage.mp4"}
        write_clip(clips["A B A B A, made"])
        for name, clip in clips.items():
            if not clip.exists():
                continue
            plain = seconds(["--source", clip, "--headless", "--summary", Path(tmp) / "plain"], args.runs)
            named = seconds(["--source", clip, "--headless", "--summary", Path(tmp) / "named", "--identities"],
                            args.runs)
            rows += [{"clip": name, "run": "--summary", "seconds": plain, "ratio": 1.0},
                     {"clip": name, "run": "--summary --identities", "seconds": named, "ratio": named / plain}]
    print(table(rows, ["clip", "run", "seconds", "ratio"]))

if __name__ == "__main__":
    main()
