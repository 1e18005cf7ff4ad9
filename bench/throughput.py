"""Hours of video per hour per core: copies of the real 9 s stage clip (a
generated 10 s clip where ../shared/data is missing) analysed as a folder of
videos on this machine's cores, then read from and written to object storage
(a real S3 server here: rclone serve s3) on 1 job and on a local Ray; each a
ratio to 1 job from a local folder, measured in the same run. Ends with the
cores that 1,000 hours of video a day need at the best measured rate.

    python bench/throughput.py [--videos 24] [--jobs N]
"""

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batch import write_videos
from common import SHARED_DATA, table

from fakeblock.app.videos import analyze_videos

KEY, SECRET = "fakeblock-bench-key", "fakeblock-bench-secret"


@contextlib.contextmanager
def s3_server(root: Path):
    """``rclone serve s3`` over ``root``, its address in the standard variables."""
    rclone = shutil.which("rclone", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([rclone, "serve", "s3", "--config", os.devnull, "--auth-key", f"{KEY},{SECRET}",
                               "--addr", f"127.0.0.1:{port}", str(root)], stderr=subprocess.DEVNULL)
    os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID=KEY,
                      AWS_SECRET_ACCESS_KEY=SECRET)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        yield
    finally:
        server.terminate()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    stage = SHARED_DATA / "videos" / "stage.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in" / "clips"
        folder.mkdir(parents=True)
        (Path(tmp) / "out").mkdir()
        if stage.is_file():
            for i in range(args.videos):
                shutil.copy(stage, folder / f"stage{i}.mp4")
            what = f"{args.videos} copies of the stage clip (9.2 s, 640x360, 30 fps, up to 6 faces)"
        else:
            write_videos(folder, args.videos, 300)
            what = f"{args.videos} generated 10 s clips (640x480)"
        runs = [("local folder, 1 job", folder, Path(tmp) / "local1", {"jobs": 1}),
                (f"local folder, {args.jobs} jobs", folder, Path(tmp) / "localN", {"jobs": args.jobs}),
                (f"S3 to S3, {args.jobs} jobs", "s3://in/clips/", "s3://out/jobs/", {"jobs": args.jobs}),
                (f"S3 to S3, Ray local, {args.jobs} CPUs", "s3://in/clips/", "s3://out/ray/",
                 {"jobs": args.jobs, "ray_address": "local"})]
        rows = []
        with s3_server(Path(tmp)):
            for name, source, out, options in runs:
                started = time.perf_counter()
                index = analyze_videos(source, out, progress=False, **options)
                seconds = time.perf_counter() - started
                assert (index["status"] == "done").all(), index
                video_hours_per_hour = index["duration_s"].astype(float).sum() / seconds
                rows.append({"run": name, "seconds": seconds, "h of video per h": video_hours_per_hour,
                             "per core": video_hours_per_hour / os.cpu_count()})
    for row in rows:
        row["vs 1 job"] = rows[0]["seconds"] / row["seconds"]
    print(f"{what}; {os.cpu_count()} cores, all busy in every run (1 job runs its model on every core); "
          "each time includes loading the model, Ray's starting it")
    print(table(rows, ["run", "seconds", "h of video per h", "per core", "vs 1 job"]))
    best = max(row["per core"] for row in rows)
    print(f"1,000 h of video a day = {1000 / 24:.1f} h an hour: {1000 / 24 / best:.0f} cores at "
          f"{best:.1f} h of video per hour per core")


if __name__ == "__main__":
    main()
