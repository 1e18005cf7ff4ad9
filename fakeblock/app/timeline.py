"""Emotions over time: per-face timeline CSV, plot and summary of a run."""

from pathlib import Path

import cv2
import pandas as pd

from ..core.atomic import make_folder, save_figure, write_bytes, write_json, write_text
from ..core.emotions import color_rgb
from .sinks import Sink

BASE_COLUMNS = ["frame", "time_s", "track", "x", "y", "w", "h", "emotion", "confidence", "uncertain"]


#: With ``--movements``: the head's pose, then each movement, after the scores.
POSE_COLUMNS = ["yaw", "pitch", "roll"]


def timeline_rows(frame, faces: list) -> list:
    """One timeline row per face of a frame (scores under the model's class names;
    with ``--movements``, the head's pose and each movement, empty where the
    landmark model saw no face)."""
    return [{"frame": frame.index, "time_s": frame.time_s, "track": face["track"],
             "x": face["box"][0], "y": face["box"][1], "w": face["box"][2], "h": face["box"][3],
             "emotion": face["emotion"], "confidence": face["confidence"],
             "uncertain": face["uncertain"], **face["scores"],
             **(face.get("head_pose") or {}), **(face.get("movements") or {})}
            for face in faces]


def with_identities(timeline: pd.DataFrame, identities: dict) -> pd.DataFrame:
    """The timeline with an ``identity`` column after ``track`` (``identities``:
    track -> identity, as :meth:`~fakeblock.app.identities.IdentityRecorder.assign`
    gives)."""
    timeline = timeline.copy()
    timeline.insert(timeline.columns.get_loc("track") + 1, "identity",
                    timeline["track"].map(identities).astype("Int64"))
    return timeline


def to_frame(rows: list, classes, movements: bool = False) -> pd.DataFrame:
    """Timeline rows -> a DataFrame with the CSV's columns, in order (with
    ``movements``: the head's pose and the 51 movements too)."""
    from .movements import MOVEMENTS

    extra = POSE_COLUMNS + list(MOVEMENTS) if movements else []
    return pd.DataFrame(rows, columns=BASE_COLUMNS + list(classes) + extra)


def mean_movements(rows: pd.DataFrame) -> dict:
    """``{"movements": each movement's mean}`` over the rows that have them
    (a timeline with ``--movements``), else ``{}``."""
    from .movements import MOVEMENTS

    if MOVEMENTS[0] not in rows:
        return {}
    means = rows[list(MOVEMENTS)].mean()
    return {"movements": {name: (None if pd.isna(v) else round(float(v), 4)) for name, v in means.items()}}


def summarize(timeline: pd.DataFrame, classes, source: str, frames: int,
              duration_s: float | None = None) -> dict:
    """Per track and overall: span, frame count, share of time in each emotion, dominant
    one, and share of time uncertain (top score under ``--min-confidence``);
    ``frames`` and ``duration_s`` are the whole run's, faces or not."""
    def shares(rows):
        counts = rows["emotion"].value_counts()
        share = {c: round(float(counts.get(c, 0)) / max(1, len(rows)), 4) for c in classes}
        return share, (max(share, key=share.get) if len(rows) else None)

    def uncertain_share(rows):
        return round(float(rows["uncertain"].astype(bool).mean()), 4) if len(rows) else 0.0

    tracks = []
    for track_id, rows in timeline.groupby("track", sort=True):
        person = {}
        if "identity" in timeline:  # a track too short for one has none
            person["identity"] = None if pd.isna(rows["identity"].iloc[0]) else int(rows["identity"].iloc[0])
        share, dominant = shares(rows)
        times = rows["time_s"].dropna()
        tracks.append({"track": int(track_id),
                       "first_frame": int(rows["frame"].min()), "last_frame": int(rows["frame"].max()),
                       "first_s": float(times.min()) if len(times) else None,
                       "last_s": float(times.max()) if len(times) else None,
                       "frames": len(rows), "share": share, "dominant": dominant,
                       "uncertain_share": uncertain_share(rows), **person, **mean_movements(rows)})
    share, dominant = shares(timeline)
    summary = {"source": source, "frames": frames, "duration_s": duration_s, "face_rows": len(timeline),
               "tracks": tracks,
               "overall": {"share": share, "dominant": dominant, "uncertain_share": uncertain_share(timeline)}}
    if "identity" in timeline:
        frame_s = duration_s / frames if duration_s and frames else None
        summary["identities"] = []
        for identity, rows in timeline.groupby("identity", sort=True):
            share, dominant = shares(rows)
            on_screen = rows["frame"].nunique()
            summary["identities"].append({
                "identity": int(identity), "tracks": sorted(int(t) for t in rows["track"].unique()),
                "frames": on_screen, "on_screen_s": round(on_screen * frame_s, 3) if frame_s else None,
                "share": share, "dominant": dominant, "uncertain_share": uncertain_share(rows),
                "thumbnail": f"identity-{int(identity)}.jpg"})
    return summary


def plot_timeline(timeline: pd.DataFrame, classes, source: str, path: Path, min_seconds=1.0,
                  fps_guess=30.0, colors=None, title="Emotions over time"):
    """Smoothed scores over time of each track (or person) lasting over
    ``min_seconds``; the plot says how many shorter ones it leaves out.
    ``classes``: the columns plotted (each emotion's score, or movements), in
    ``colors`` (default: each emotion's colour)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = timeline["time_s"].notna().all() and len(timeline)
    x_name = "time_s" if timed else "frame"
    who = "identity" if "identity" in timeline else "track"  # one panel per person, or per track
    spans = timeline.groupby(who)[x_name].agg(lambda v: v.max() - v.min())
    min_span = min_seconds if timed else min_seconds * fps_guess
    long_tracks = [t for t, span in spans.items() if span > min_span]
    height = 1.4 + 2.2 * max(1, len(long_tracks))
    fig, axes = plt.subplots(max(1, len(long_tracks)), 1, sharex=True, squeeze=False, figsize=(10, height))
    for ax, track_id in zip(axes[:, 0], long_tracks):
        person = timeline[timeline[who] == track_id]
        for n, (_, rows) in enumerate(person.groupby("track")):  # a gap between tracks stays a gap
            rows = rows.sort_values(x_name)
            for name in classes:
                ax.plot(rows[x_name], rows[name].rolling(5, center=True, min_periods=1).mean(),
                        color=(colors or {}).get(name) or color_rgb(name), label=name if n == 0 else None,
                        linewidth=1.6)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"{'person' if who == 'identity' else 'face'} #{track_id}")
        ax.grid(alpha=0.3)
    if not long_tracks:
        axes[0, 0].text(0.5, 0.5, "no face stayed in view for over a second", ha="center",
                        va="center", transform=axes[0, 0].transAxes)
    left_out = len(spans) - len(long_tracks)
    if long_tracks and left_out:
        kind = "people" if who == "identity" else "faces"
        fig.text(0.01, 0.005, f"{len(long_tracks)} of {len(spans)} {kind} plotted; {left_out} in view for a "
                 "second or less left out (all are in timeline.csv)", fontsize=8, ha="left", va="bottom")
    axes[-1, 0].set_xlabel("seconds" if timed else "frame")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    top = 1 - 0.7 / height  # the title's line, then the legend's, above the panels
    if handles:
        fig.legend(handles, labels, loc="lower right", bbox_to_anchor=(0.99, top), ncol=len(classes), fontsize=8)
    fig.suptitle(f"{title}: {source}", x=0.01, y=0.995, ha="left", va="top")
    fig.tight_layout(rect=(0, 0.03, 1, top - 0.01))
    save_figure(fig, path)


#: Movements plotted in movements.png: those whose scores changed most.
MOVEMENTS_PLOTTED = 6


def plot_movements(timeline: pd.DataFrame, source: str, path: Path):
    """The movements that changed most over the run (largest spread of their
    scores), over time, one panel per face as in timeline.png."""
    from matplotlib import colormaps

    from .movements import MOVEMENTS

    spread = timeline[list(MOVEMENTS)].std().fillna(0.0).sort_values(ascending=False)
    changed = list(spread.index[:MOVEMENTS_PLOTTED])
    palette = colormaps["tab10"].colors
    plot_timeline(timeline, changed, source, path, colors=dict(zip(changed, palette)),
                  title="The movements that changed most")


class TimelineRecorder(Sink):
    """Collects every face of a run; ``close`` writes timeline.csv, timeline.png and
    summary.json into ``folder`` (also after Ctrl-C or a stopped camera).
    ``fps``: the source's frame rate, where it has one (the run's duration is
    the last frame's time plus one frame)."""

    def __init__(self, folder: Path, source: str, classes=(), fps: float | None = None, identities=None):
        self.folder, self.source, self.classes, self.fps = Path(folder), source, tuple(classes), fps
        self.identities = identities  # an IdentityRecorder, assigned before save()
        make_folder(self.folder, "summary folder")
        self.rows, self.frames, self.last_time = [], 0, None
        self.movements = False  # whether the faces carry movements (--movements)
        self.written = []  # the files close() wrote

    def write(self, frame, result):
        self.classes = self.classes or tuple(result.classes)
        self.movements = self.movements or any("movements" in face for face in result.faces)
        self.rows.extend(timeline_rows(frame, result.faces))
        self.frames += 1
        self.last_time = frame.time_s

    @property
    def duration_s(self) -> float | None:
        """How long the frames seen so far last (None for still images)."""
        if self.last_time is None:
            return None
        return round(self.last_time + (1 / self.fps if self.fps else 0.0), 3)

    def close(self):
        """Write the three files (and, with identities, a face thumbnail per
        person) once; their paths are then in ``written``."""
        if not self.written:
            self.written = self._save()

    def _save(self) -> list:
        timeline = to_frame(self.rows, self.classes, self.movements)
        thumbnails = []
        if self.identities is not None:
            timeline = with_identities(timeline, self.identities.identities)
            for identity, face in self.identities.thumbnails.items():
                path = self.folder / f"identity-{identity}.jpg"
                ok, encoded = cv2.imencode(".jpg", face)
                if ok:
                    write_bytes(path, encoded.tobytes())
                    thumbnails.append(path)
        csv_path = self.folder / "timeline.csv"
        write_text(csv_path, timeline.to_csv(index=False))
        summary_path = self.folder / "summary.json"
        write_json(summarize(timeline, self.classes, self.source, self.frames, self.duration_s), summary_path)
        plot_path = self.folder / "timeline.png"
        plot_timeline(timeline, self.classes, self.source, plot_path)
        written = [csv_path, plot_path, summary_path]
        if self.movements:
            written.append(self.folder / "movements.png")
            plot_movements(timeline, self.source, written[-1])
        return [*written, *thumbnails]
