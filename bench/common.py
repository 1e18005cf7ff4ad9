"""Shared pieces of the benchmarks: test frames, timing, the shipped model's path."""

import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def demo_face() -> np.ndarray:
    """The real face of the shipped demo portrait (BGR, 150x150)."""
    from fakeblock.app.sources import DEMO_IMAGE
    return cv2.imread(str(DEMO_IMAGE))[40:190, 150:300]


def test_frames(faces: int, count: int = 30, seed: int = 0) -> list:
    """``count`` 640x480 BGR frames with ``faces`` real faces on a textured background."""
    rng = np.random.default_rng(seed)
    face = demo_face()
    spots = [(60, 80), (250, 170), (440, 60)]
    frames = []
    for _ in range(count):
        frame = cv2.GaussianBlur(rng.integers(40, 200, (480, 640, 3), dtype=np.uint8), (0, 0), 6)
        for x, y in spots[:faces]:
            dx, dy = rng.integers(-15, 16, 2)
            frame[y + dy:y + dy + 150, x + dx:x + dx + 150] = face
        frames.append(frame)
    return frames


def time_per_frame(work, frames, repeats: int = 3, warmup: int = 5) -> dict:
    """Median and 95th-percentile milliseconds of ``work(frame)``, and frames per second.

    Each call gets a fresh copy of its frame (``work`` may draw on it).
    """
    for frame in frames[:warmup]:
        work(frame.copy())
    times = []
    for _ in range(repeats):
        for original in frames:
            frame = original.copy()
            started = time.perf_counter()
            work(frame)
            times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    return {"median_ms": median, "p95_ms": float(np.percentile(times, 95)), "fps": 1000 / median}


def table(rows: list, columns: list) -> str:
    """A Markdown table of dicts."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _fmt(value) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)
