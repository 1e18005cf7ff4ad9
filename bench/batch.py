"""Many videos at once: videos per minute and frames per second for 1 job, N jobs
and a local Ray, on the same generated videos, each a ratio to 1 job measured
in the same run.

    python bench/batch.py [--videos 8] [--frames 150] [--jobs 2]
"""

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import demo_face, table

from fakeblock.app.videos import analyze_videos


def write_videos(folder: Path, count: int, frames: int) -> list:
    """``count`` 640x480 30 fps videos of the demo face moving over a textured background."""
    face, rng, paths = demo_face(), np.random.default_rng(0), []
    background = cv2.GaussianBlur(rng.integers(40, 200, (480, 640, 3), dtype=np.uint8), (0, 0), 6)
    for v in range(count):
        path = folder / f"video{v}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
        for i in range(frames):
            frame = background.copy()
            x, y = 60 + (3 * i + 40 * v) % 400, 80 + (i // 2) % 200
            frame[y:y + 150, x:x + 150] = face
            writer.write(frame)
        writer.release()
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--frames", type=int, default=150, help="frames per video (30 fps)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="N for the N-jobs and Ray rows")
    args = parser.parse_args()
    runs = {"1 job": {"jobs": 1}, f"{args.jobs} jobs": {"jobs": args.jobs}}
    if importlib.util.find_spec("ray"):
        runs[f"Ray local, {args.jobs} CPUs"] = {"jobs": args.jobs, "ray_address": "local"}
    else:
        print("(Ray not installed: pip install -r requirements-scale.txt)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        videos = write_videos(Path(tmp), args.videos, args.frames)
        for name, options in runs.items():
            started = time.perf_counter()
            index = analyze_videos(videos, Path(tmp) / name.replace(" ", "_"), progress=False, **options)
            seconds = time.perf_counter() - started
            assert (index["status"] == "done").all(), index
            rows.append({"run": name, "seconds": seconds, "videos per minute": 60 * len(videos) / seconds,
                         "frames per second": index["frames"].sum() / seconds})
    for row in rows:
        row["speed-up"] = rows[0]["seconds"] / row["seconds"]
    print(f"{args.videos} videos of {args.frames} frames (640x480), {os.cpu_count()} cores; "
          "Ray's time includes starting it")
    print(table(rows, ["run", "seconds", "videos per minute", "frames per second", "speed-up"]))


if __name__ == "__main__":
    main()
