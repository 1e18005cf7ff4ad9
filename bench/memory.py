"""Peak and steady memory of the app processing 3,000 frames (the demo, headless):
resident set size after warm-up and at the end.

    python bench/memory.py [--frames 3000]
"""

import argparse
import resource

from common import table

from fakeblock.app.overlay import render
from fakeblock.app.pipeline import build_pipeline
from fakeblock.app.sources import DemoSource


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args()
    pipeline = build_pipeline()
    demo = DemoSource(loop=True)
    rows = []
    for frame in demo:
        result = pipeline.process(frame.image, frame.index)
        render(frame.image, result.faces, pipeline.classes, fps=30.0)
        if frame.index + 1 in (100, args.frames // 2, args.frames):
            rows.append({"frames": frame.index + 1, "RSS MB": rss_mb()})
        if frame.index + 1 == args.frames:
            break
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(table(rows, ["frames", "RSS MB"]))
    print(f"peak RSS {peak:.0f} MB; growth after warm-up {rows[-1]['RSS MB'] - rows[0]['RSS MB']:+.1f} MB")


if __name__ == "__main__":
    main()
