"""CSV loading: FakeBlock's vectorised loader against a row-by-row loop like the
original converter's, on the real CSV (no cache), in one run.

    python bench/loading.py [--data ../shared/data/fer2013.csv.gz]
"""

import argparse
import csv
import gzip
import tempfile
import time

import numpy as np
from common import SHARED_DATA, table

from fakeblock.training.data import load_fer2013_csv


def row_by_row(path):
    """The original converter's approach: one Python loop iteration per row."""
    opener = gzip.open if str(path).endswith(".gz") else open
    images, labels = [], []
    with opener(path, "rt") as f:
        for row in csv.DictReader(f):
            images.append(np.array([int(v) for v in row["pixels"].split()], np.uint8).reshape(48, 48))
            labels.append(int(row["emotion"]))
    return np.stack(images), np.array(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "fer2013.csv.gz"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        ours = load_fer2013_csv(args.data, cache_dir=cache)
        parse_s = time.perf_counter() - started
        started = time.perf_counter()
        load_fer2013_csv(args.data, cache_dir=cache)
        cached_s = time.perf_counter() - started
    started = time.perf_counter()
    images, labels = row_by_row(args.data)
    loop_s = time.perf_counter() - started
    assert np.array_equal(images, ours.images) and np.array_equal(labels, ours.labels)
    print(f"{len(labels)} rows of {args.data}")
    print(table([{"loader": "FakeBlock, first run (vectorised parse + validation)",
                  "seconds": parse_s, "speed-up": loop_s / parse_s},
                 {"loader": "FakeBlock, later runs (cache)", "seconds": cached_s,
                  "speed-up": loop_s / cached_s},
                 {"loader": "row-by-row loop", "seconds": loop_s, "speed-up": 1.0}],
                ["loader", "seconds", "speed-up"]))


if __name__ == "__main__":
    main()
