"""How well faces are followed: tracks and identities on the real stage clip
and on videos made from real photos (cuts, sweeps, jumps), with and without
--identities, through WebCam.py --summary as a user runs it.

    python bench/tracks.py [--video ../shared/data/videos/stage.mp4 --shot 82 210]

For each run: tracks and identities in all, and over the shot (the largest face
of each frame) the share of its frames that its commonest track and identity
hold; for the made videos, also whether a track or identity holds two people.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from common import ROOT, SHARED_DATA, table
from identities import people


def ab_cuts(path: Path, shot_frames: int = 60, shots: str = "ABAB") -> dict:
    """A B A B, 2 s each, the face jumping 19 px every 20 frames; returns frame -> person."""
    faces, truth = people(), {}
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for i in range(shot_frames * len(shots)):
        frame = np.full((480, 640, 3), 90, np.uint8)
        x = 200 + 19 * ((i % shot_frames) // 20)
        frame[140:340, x:x + 190] = faces[shots[i // shot_frames]]
        truth[i] = shots[i // shot_frames]
        writer.write(frame)
    writer.release()
    return truth


def sweep(path: Path, seconds: int = 5, speed: float = 16.0) -> dict:
    """One face swept side to side at up to ``speed`` px a frame."""
    face = people()["A"]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    frames = 30 * seconds
    for i in range(frames):
        frame = np.full((480, 640, 3), 90, np.uint8)
        x = int(225 + 200 * np.sin(i * speed / 200))  # peak speed: 200 * speed / 200 px a frame
        frame[140:340, x:x + 190] = face
        writer.write(frame)
    writer.release()
    return dict.fromkeys(range(frames), "A")


def analyse(video: Path, identities: bool, out: Path) -> tuple:
    flags = ["--identities"] if identities else []
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "WebCam.py"), "--source", str(video), "--headless",
                    "--summary", str(out), *flags], check=True, capture_output=True)
    return pd.read_csv(out / "timeline.csv"), time.perf_counter() - started


def report(name: str, timeline: pd.DataFrame, seconds: float, shot=None, truth=None) -> dict:
    largest = timeline.assign(area=timeline.w * timeline.h).sort_values("area").groupby("frame").tail(1)
    if shot:
        largest = largest[(largest.frame >= shot[0]) & (largest.frame <= shot[1])]
    row = {"video": name, "seconds": seconds, "tracks": timeline.track.nunique(),
           "shot: commonest track": largest.track.value_counts(normalize=True).iloc[0]}
    if "identity" in timeline:
        row["identities"] = timeline.identity.nunique()
        row["shot: commonest identity"] = largest.identity.value_counts(normalize=True).iloc[0]
    if truth:
        person = timeline.frame.map(truth)
        row["tracks with two people"] = int((timeline.assign(p=person).groupby("track").p.nunique() > 1).sum())
        if "identity" in timeline:
            row["identities with two people"] = int(
                (timeline.assign(p=person).groupby("identity").p.nunique() > 1).sum())
        shots = (person != person.shift()).cumsum()  # runs of one person: the shots
        by_shot = timeline.assign(shot=shots.values).groupby("shot").track
        row["worst shot: commonest track"] = by_shot.agg(lambda t: t.value_counts(normalize=True).iloc[0]).min()
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", default=str(SHARED_DATA / "videos" / "stage.mp4"))
    parser.add_argument("--shot", type=int, nargs=2, default=(82, 210), help="first and last frame of one shot")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        made = {"A/B/A/B cuts, 19-px jumps": ab_cuts(tmp / "cuts.avi"),
                "sweep, 16 px a frame": sweep(tmp / "sweep.avi")}
        stage = Path(args.video)
        videos = [(stage.name, stage, tuple(args.shot), None)] if stage.exists() else []
        videos += [(name, tmp / ("cuts.avi" if "cuts" in name else "sweep.avi"), None, truth)
                   for name, truth in made.items()]
        for name, video, shot, truth in videos:
            for identities in (False, True):
                timeline, seconds = analyse(video, identities, tmp / f"out-{len(rows)}")
                rows.append(report(name + (" --identities" if identities else ""), timeline, seconds, shot, truth))
    columns = ["video", "seconds", "tracks", "identities", "shot: commonest track", "shot: commonest identity",
               "tracks with two people", "identities with two people", "worst shot: commonest track"]
    print(table([{c: r.get(c, "") for c in columns} for r in rows], columns))


if __name__ == "__main__":
    main()
