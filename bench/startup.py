"""Start-up: wall time and peak memory of the app on one photo and on the demo,
headless, with the TF Lite engine (no TensorFlow) against the Keras engine in
the same run, and the installed size of the app's packages against training's.

    python bench/startup.py [--runs 3]

Each figure is the median of --runs runs after a first, warming run (the
operating system's file cache). Memory is the process's peak resident set.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from common import ROOT, table

from fakeblock.app.sources import DEMO_IMAGE

# Runs one command and prints its peak resident memory (the only child it waits for).
PEAK_OF_CHILD = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
                 "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def measure(app_args: list, runs: int) -> dict:
    """Median wall seconds and peak MB of ``WebCam.py app_args`` over ``runs`` runs after a first."""
    command = [sys.executable, "-c", PEAK_OF_CHILD, sys.executable, str(ROOT / "WebCam.py"), *app_args]
    times, peaks = [], []
    for run in range(runs + 1):
        started = time.perf_counter()
        peak_kb = int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        if run:
            times.append(time.perf_counter() - started)
            peaks.append(peak_kb / 1024 if sys.platform != "darwin" else peak_kb / 1024 / 1024)
    return {"seconds": statistics.median(times), "peak MB": statistics.median(peaks)}


def requirement_names(requirements_file: Path) -> list:
    from packaging.requirements import Requirement

    names = []
    for line in requirements_file.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate():
                names.append(requirement.name)
    return names


def closure(names: list) -> set:
    """The installed distributions these need, with everything they need in turn."""
    from packaging.requirements import Requirement
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def size_mb(names: set) -> float:
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            path = Path(file.locate())
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for what, source in (("one photo", str(DEMO_IMAGE)), ("the demo (120 frames)", "demo")):
            lite = measure(["--source", source, "--headless", "--json", f"{tmp}/out.jsonl"], args.runs)
            keras = measure(["--source", source, "--headless", "--json", f"{tmp}/out.jsonl",
                             "--engine", "keras"], args.runs)
            for engine, result in (("TF Lite (LiteRT, no TensorFlow)", lite), ("Keras (TensorFlow)", keras)):
                rows.append({"run": what, "engine": engine, "seconds": result["seconds"],
                             "peak MB": result["peak MB"], "time vs Keras": result["seconds"] / keras["seconds"],
                             "memory vs Keras": result["peak MB"] / keras["peak MB"]})
    print(table(rows, ["run", "engine", "seconds", "peak MB", "time vs Keras", "memory vs Keras"]))
    app = closure(requirement_names(ROOT / "requirements.txt"))
    training = closure(requirement_names(ROOT / "requirements.txt")
                       + requirement_names(ROOT / "requirements-train.txt"))
    print(table([{"install": "the app (requirements.txt)", "packages": len(app), "MB": size_mb(app)},
                 {"install": "app + training (+ requirements-train.txt)", "packages": len(training),
                  "MB": size_mb(training)}], ["install", "packages", "MB"]))


if __name__ == "__main__":
    main()
