"""The app: frames in (camera, video, images, demo), emotions out (window, files, JSON).

``python WebCam.py --help`` lists the flags. Everything that can be checked
without TensorFlow (flags, source, cascade, model path, output paths) is
checked before the model loads.
"""

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import FakeBlockError, install_hint
from ..core.interrupts import silence_closed_stdout, terminate_like_ctrl_c
from ..core.logs import show_messages
from ..core.modelfile import DEFAULT_MODEL, check_model_file, read_card, shipped_models
from ..core.quiet_imports import silence_opencv
from .identities import IdentityRecorder, process_frame
from .overlay import render
from .pipeline import DETECTORS, MIN_CONFIDENCE, PipelineOptions
from .sinks import ImageSink, JsonLinesSink, VideoSink, Window, display_available
from .sources import CameraStopped, open_source
from .storage import is_url, join, url_name

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Live emotion recognition: finds faces, labels each with its emotion.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--source", help="camera index (0, 1...), 'demo', a video file, an image "
                   "file, a folder of images or of videos, or one of these in object storage "
                   "(s3://bucket/folder/; the scale extra) (default: camera 0, or the demo if none opens)")
    p.add_argument("--model", default=DEFAULT_MODEL.stem,
                   help=f"a shipped model by name ({', '.join(shipped_models())}) or a trained .keras file")
    p.add_argument("--detector", choices=DETECTORS,
                   help="face finder: MediaPipe's BlazeFace (finds more faces, faster; the default) "
                        "or the original project's Haar cascade (the default with --cascade)")
    p.add_argument("--cascade", help="Haar cascade XML (default: the shipped "
                   "haarcascade_frontalface_default.xml, else OpenCV's copy)")
    p.add_argument("--scale-factor", type=float, default=1.1,
                   help="cascade scale step between detection sizes (>1; larger is faster "
                        "but misses more faces)")
    p.add_argument("--min-neighbors", type=int, default=5,
                   help="cascade votes a face needs (higher: fewer false faces)")
    p.add_argument("--min-size", type=int,
                   help="smallest face side, in pixels (default: 20 with BlazeFace, 48 with Haar)")
    p.add_argument("--detect-every", type=int, default=5,
                   help="search the whole frame every N frames; in between, only around "
                        "the faces already found (1: the whole frame every time)")
    p.add_argument("--smooth", type=int, default=5,
                   help="average each face's scores over about this many frames (0: off)")
    p.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE, metavar="P",
                   help="flag a face uncertain (drawn gray with a '?', \"uncertain\": true in JSON "
                        "and the timeline) when its calibrated top score is under P; 0: never")
    p.add_argument("--tta", action="store_true",
                   help="also classify the mirrored face and average (slower, steadier)")
    p.add_argument("--engine", choices=("lite", "keras"), default="lite",
                   help="what runs the model: TensorFlow Lite (the model's .tflite copy, through "
                        "LiteRT; no TensorFlow) or Keras itself (needs the train extra: "
                        f"{install_hint('train')})")
    p.add_argument("--headless", action="store_true", help="no window (servers, scripts, tests)")
    p.add_argument("--output", help="write the annotated video (or image / folder of images "
                   "for image input) here")
    p.add_argument("--json", help="write one JSON line per frame here ('-': standard output)")
    p.add_argument("--summary", help="write timeline.csv, timeline.png and summary.json "
                   "into this folder (or s3://bucket/folder/) when the run ends")
    p.add_argument("--identities", action="store_true",
                   help="tell people apart across cuts and exits: an 'identity' for each face in --json "
                        "and --summary (one row per person, a face thumbnail each); needs "
                        f"the identity extra: {install_hint('identity')}")
    p.add_argument("--movements", action="store_true",
                   help="also read each face's 51 movements (MediaPipe's blendshapes: browDownLeft, "
                        "eyeWideRight, jawOpen...) and its head pose (yaw, pitch, roll) into --json, "
                        "--summary and the window's f key")
    p.add_argument("--landmarks", action="store_true",
                   help="with --movements, also each face's 478 landmarks in --json")
    profiles = p.add_argument_group("profiles: a person's own expressions")
    profiles.add_argument("--make-profile", metavar="FILE",
                          help="make a profile from --source FOLDER, which holds a sub-folder per emotion "
                               "(angry/, happy/ ...) of photos or videos of one person, and save it here")
    profiles.add_argument("--profile", metavar="FILE",
                          help="name the faces' expressions with this profile (made with --make-profile or "
                               "the window's p key)")
    p.add_argument("--no-mirror", action="store_true",
                   help="show camera pictures as the camera sees them, not mirrored")
    videos = p.add_argument_group("a folder of videos (--source FOLDER --summary RESULTS)")
    videos.add_argument("--jobs", type=int,
                        help="videos analysed at once on this machine (default: the number of cores)")
    videos.add_argument("--ray", metavar="ADDRESS",
                        help="run each video as a task on the Ray cluster at ADDRESS ('local': start "
                             f"one here); needs the scale extra: {install_hint('scale')}")
    videos.add_argument("--redo", action="store_true",
                        help="analyse again the videos that already have a result folder")
    return p


#: Bounds of the numeric flags: a value outside (or NaN) is refused before anything runs.
FLAG_RANGES = {"scale_factor": (1.0, 3.0, "greater than 1 and at most 3"),
               "min_neighbors": (0, 100, "from 0 to 100"),
               "min_size": (8, 10_000, "from 8 to 10000 pixels"),
               "smooth": (0, 1_000, "from 0 to 1000"),
               "detect_every": (1, 1_000, "from 1 to 1000"),
               "min_confidence": (0.0, 1.0, "between 0 and 1"),
               "jobs": (1, 1_024, "from 1 to 1024")}


def check_args(p: argparse.ArgumentParser, args):
    """Flag values that can never work, as argparse errors (exit code 2)."""
    for name, (low, high, allowed) in FLAG_RANGES.items():
        value = getattr(args, name)
        if value is None:
            continue
        too_low = value <= low if name == "scale_factor" else value < low
        if too_low or not value <= high:  # "not <=": NaN fails too
            p.error(f"--{name.replace('_', '-')} must be {allowed}")
    if args.identities and not (args.summary or args.json):
        p.error("--identities labels the faces of --summary or --json: add one of them")
    if args.cascade and args.detector == "blazeface":
        p.error("--cascade is a Haar cascade: use it with --detector haar")
    args.detector = args.detector or ("haar" if args.cascade else "blazeface")
    for flag in ("output", "json", "make_profile", "profile", "cascade", "model"):
        if is_url(getattr(args, flag)):
            p.error(f"--{flag.replace('_', '-')} {getattr(args, flag)}: a path on this machine "
                    "(object storage URLs are for --source and --summary)")
    if args.source and args.source not in ("demo",) and not args.source.isdigit():
        for flag in ("output", "json", "summary"):
            target = getattr(args, flag)
            if target and target != "-" and _same_place(args.source, target):
                p.error(f"--{flag} {target} is the source itself: it would write over what it reads")


def _same_place(a, b) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve() or (Path(b).exists() and Path(a).samefile(b))
    except (OSError, ValueError):
        return False


def main(argv=None) -> int:
    """Entry point of WebCam.py; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    silence_opencv()
    show_messages()
    with terminate_like_ctrl_c() as terminated:
        try:
            status = run(args)
        except FakeBlockError as e:
            print(f"error: {e}", file=sys.stderr)
            status = e.exit_code
        except BrokenPipeError:  # --json - | head: the reader has what it wanted
            silence_closed_stdout()
            status = 1
        except OSError as e:  # a name too long, a folder that vanished...
            print(f"error: {e.filename or ''}: {e.strerror or e}".replace("error: : ", "error: "),
                  file=sys.stderr)
            status = 2
        except KeyboardInterrupt:  # before the frames (loading the model): nothing to keep
            print("\ninterrupted", file=sys.stderr)
            status = 130
    return 143 if terminated.is_set() and status == 130 else status


def run(args) -> int:
    """Run the app with parsed flags; returns the exit code."""
    args.model = str(check_model_file(args.model))
    read_card(args.model)  # a broken card: said now, not after the run
    if args.make_profile:
        return _make_profile(args)
    if is_url(args.source):
        return _run_from_storage(args)
    videos = _folder_of_videos(args.source)
    if videos:
        return _run_videos(videos, args)
    return _run_source(args.source, args)


def _run_source(spec, args) -> int:
    """One source (a camera, the demo, a video, photos): frames in, outputs out."""
    from .storage import results_folder

    args.headless = args.headless or _no_window_needed(args)
    _say_if_nothing_saved(args)
    source = open_source(spec, loop_demo=not args.headless)
    try:
        with results_folder(args.summary) as summary:
            return _run_on(source, args, summary)
    finally:
        source.close()


def _run_from_storage(args) -> int:
    """``--source URL``: a folder of videos runs as many videos (each worker copies
    its own); a video, a photo or a folder of photos is copied here for the run."""
    from ..core.images import IMAGE_SUFFIXES
    from .storage import entries, local_copies
    from .videos import VIDEO_SUFFIXES

    kind, files = entries(args.source)
    videos = [f for f in files if url_name(f).suffix.lower() in VIDEO_SUFFIXES]
    images = [f for f in files if url_name(f).suffix.lower() in IMAGE_SUFFIXES]
    if kind == "file":
        with local_copies(files) as folder:
            return _run_source(str(folder / url_name(args.source).name), args)
    if videos and not images:
        return _run_videos(videos, args)
    if not images:
        raise FakeBlockError(f"{args.source}: no videos or photos in this folder")
    with local_copies(images, url_name(args.source).name) as folder:
        return _run_source(str(folder), args)


def _make_profile(args) -> int:
    """--make-profile FILE --source FOLDER: one line per emotion, then the file."""
    from ..core.atomic import check_replaceable
    from .profiles import make_profile

    if not args.source or not Path(args.source).is_dir():
        raise FakeBlockError("--make-profile needs --source FOLDER, with a sub-folder per emotion "
                             "(angry/, happy/ ...) of photos or videos of one person")
    check_replaceable(Path(args.make_profile))
    print("Loading the emotion model...", file=sys.stderr, flush=True)
    profile, counts = make_profile(args.source, pipeline_options(args).build(still=True))
    for emotion, (faces, pictures) in counts.items():
        print(f"{emotion}: {_count(faces, 'face')} from {_count(pictures, 'picture')}", file=sys.stderr)
    profile.save(args.make_profile)
    print(f"Saved the profile {args.make_profile} ({len(profile.labels)} faces, {len(counts)} emotions; "
          "numbers the app computes, no pictures)", file=sys.stderr)
    return 0


def _no_window_needed(args) -> bool:
    """True where a run without ``--headless`` goes without a window: there is no
    display, and the flags say where the results go (said in one line)."""
    if display_available():
        return False
    outputs = [f"--{flag} {getattr(args, flag)}" for flag in ("output", "json", "summary") if getattr(args, flag)]
    if not outputs:
        raise FakeBlockError("no display available to open a window; run with --headless and say where the "
                             "results go: --output PATH, --json PATH or --summary FOLDER")
    log.info(f"No display: running without a window; results go to {', '.join(outputs)}")
    return True


def _say_if_nothing_saved(args):
    """A headless run that writes nothing says so before it starts."""
    if args.headless and not (args.output or args.json or args.summary):
        log.warning("note: --headless with no --output, --json or --summary: nothing will be saved "
                    "(--json - prints the faces)")


def pipeline_options(args) -> PipelineOptions:
    """The flags that say how faces are found, classified and followed."""
    return PipelineOptions(model=args.model, tta=args.tta, engine=args.engine, smooth=args.smooth,
                           detect_every=args.detect_every, min_confidence=args.min_confidence,
                           detector=args.detector, cascade=args.cascade, scale_factor=args.scale_factor,
                           min_neighbors=args.min_neighbors, min_size=args.min_size,
                           movements=args.movements or args.landmarks, landmarks=args.landmarks,
                           profile=args.profile)


def _folder_of_videos(spec) -> list:
    """The videos of a ``--source`` folder that holds videos and no images, else []."""
    from ..core.images import IMAGE_SUFFIXES
    from .videos import video_files

    folder = Path(spec) if spec else None
    if not folder or not folder.is_dir() or any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
        return []
    return video_files(folder)


def _run_videos(videos: list, args) -> int:
    """A folder of videos: each into its own folder under ``--summary``, several at once."""
    from .videos import analyze_videos

    if not args.summary:
        raise FakeBlockError(f"{args.source}: a folder of videos is analysed into result folders: "
                             "add --summary RESULTS")
    if args.output or args.json:
        raise FakeBlockError("a folder of videos writes timelines and summaries (--summary) only, "
                             "not --output or --json")
    print(f"{len(videos)} videos in {args.source} -> {args.summary}", file=sys.stderr, flush=True)
    try:
        index = analyze_videos(videos, args.summary, jobs=args.jobs, ray_address=args.ray, redo=args.redo,
                               identities=args.identities, options=pipeline_options(args))
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished videos are kept in {args.summary} (index.csv); "
              "run again to do the rest", file=sys.stderr)
        return 130
    failed = index[index["status"] != "done"]
    for error in failed["error"]:
        print(f"error: {error}", file=sys.stderr)
    print(f"{videos_report(len(index), len(index.attrs['skipped']), len(failed))}; index: "
          f"{index.attrs['index']}", file=sys.stderr)
    return 1 if len(failed) else 0


def videos_report(total: int, skipped: int, failed: int) -> str:
    """What a many-videos run did, in words: '3 of 5 videos analysed, 2 already done,
    skipped (--redo analyses them again)'."""
    tried = total - skipped
    report = f"{tried - failed} of {tried} videos analysed" if tried else "no video analysed"
    if skipped:
        report += f", {skipped} already done, skipped (--redo analyses them again)"
    return report


@dataclass
class Outputs:
    """Where a run's results go: its ``sinks`` (each written every frame, the
    timeline first: kept in memory, it survives a sink that fails to write),
    the live ``window``, and with ``--identities`` the recorder that tells
    people apart."""

    sinks: list
    window: Window | None = None
    identities: IdentityRecorder | None = None
    timeline: object = None  # the TimelineRecorder among the sinks, if any
    summary: str | None = None  # where its files go, as the user named it (a folder or a URL)


def _open_outputs(source, args, summary) -> Outputs:
    """The outputs the flags ask for, each checked before the model loads;
    ``summary``: the local folder the timeline is written in."""
    from .timeline import TimelineRecorder

    identities = IdentityRecorder() if args.identities else None
    timeline = (TimelineRecorder(Path(summary), source.label, fps=source.fps, identities=identities)
                if summary else None)
    sinks = [timeline] if timeline else []
    if args.json:
        sinks.append(JsonLinesSink(args.json, identities))
    if args.output:
        path = Path(args.output)
        sinks.append(ImageSink(path, single=source.total == 1 and not source.path.is_dir())
                     if source.is_still else VideoSink(path, source.fps))
    window = None if args.headless else Window(mirrored=source.is_camera and not args.no_mirror)
    return Outputs(sinks, window, identities, timeline, args.summary)


class FrameClock:
    """The frame rate shown on screen, and the wait that plays a video or the
    demo at its own frame rate in a window (a camera sets its own pace)."""

    def __init__(self, source_fps: float | None):
        self.period = 1 / source_fps if source_fps else 0.0
        self.due = self.last_tick = time.perf_counter()
        self.fps = None

    def tick(self):
        now = time.perf_counter()
        tick_fps = 1.0 / max(1e-6, now - self.last_tick)
        self.fps, self.last_tick = tick_fps if self.fps is None else 0.9 * self.fps + 0.1 * tick_fps, now

    def wait_ms(self) -> int:
        """Milliseconds until the next frame is due (1 or less: show it now)."""
        self.due += self.period
        return round((self.due - time.perf_counter()) * 1000)

    def shown(self):
        self.due = max(self.due, time.perf_counter())  # after a pause, play on from here


def _run_on(source, args, summary) -> int:
    outputs = _open_outputs(source, args, summary)
    window = outputs.window
    print("Loading the emotion model...", file=sys.stderr, flush=True)

    pipeline = pipeline_options(args).build(still=source.is_still)
    clock = FrameClock(source.fps if window and not source.is_camera else None)
    progress = None
    if source.total and not (window and source.label == "demo"):
        from tqdm import tqdm
        progress = tqdm(total=source.total, unit=" frames", desc=source.label, leave=False,
                        file=sys.stderr, delay=1.0)

    frames = frames_with_faces = faces_found = 0
    tracks = set()
    capture, profile_note = None, f"profile: {Path(args.profile).name}" if args.profile else None
    ended, status = "done", 0
    try:
        for frame in source:
            result = process_frame(pipeline, frame, outputs.identities)
            for sink in outputs.sinks:
                sink.write(frame, result)
            frames += 1
            frames_with_faces += bool(result.faces)
            faces_found += len(result.faces)
            tracks.update(face["track"] for face in result.faces)
            if progress:
                progress.update(1)
            clock.tick()
            if window:
                note = capture.prompt() if capture else profile_note
                if capture:
                    capture.add(pipeline, frame.image, result.faces)
                keep_going = window.show(
                    lambda mirrored, mesh: render(frame.image, result.faces, pipeline.classes, clock.fps,
                                                  mirrored=mirrored, show_help=True,
                                                  meshes=result.meshes if mesh else None, note=note),
                    wait_ms=clock.wait_ms())
                if window.mesh:  # from the next frame on
                    pipeline.read_movements()
                capture, profile_note = _guided_capture(window, capture, pipeline, args, profile_note)
                clock.shown()
                if not keep_going:
                    ended = "stopped by the user"
                    break
    except CameraStopped as e:
        ended, status = str(e), 1
    except KeyboardInterrupt:
        ended, status = "interrupted", 130
    finally:
        if progress:
            progress.close()
        _close(outputs)
    skipped = len(getattr(source, "unreadable", []))
    print(f"{source.label}: {run_report(source.is_still, frames, frames_with_faces, faces_found, len(tracks))}"
          + (f", {skipped} unreadable images skipped" if skipped else "")
          + ("" if ended == "done" else f" ({ended})"), file=sys.stderr)
    if frames == 0 and skipped:
        raise FakeBlockError(f"{source.label}: none of the images could be read")
    return status


#: Where the window's p key saves a profile when neither --profile nor --make-profile names a file.
DEFAULT_PROFILE = Path("~/.config/fakeblock/profile.json")


def _guided_capture(window, capture, pipeline, args, note):
    """The window's p key: start a guided capture, skip an emotion (space), and
    when the last is done save the profile and use it at once. Returns the
    capture still running (or None) and the note the window shows."""
    from .profiles import ProfileCapture

    if window.capture_asked and capture is None:
        capture, window.capturing = ProfileCapture(pipeline.classes), True
    window.capture_asked = False
    if capture and window.skip_asked:
        capture.skip()
    window.skip_asked = False
    if capture is None or capture.prompt() is not None:
        return capture, note
    window.capturing = False
    path = Path(args.make_profile or args.profile or DEFAULT_PROFILE).expanduser()
    try:
        profile = capture.profile(pipeline.classifier.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        profile.save(path)
    except (FakeBlockError, OSError) as e:  # the session goes on without it
        print(f"error: {e}", file=sys.stderr)
        return None, note
    pipeline.use_profile(profile)
    counts = ", ".join(f"{e} {profile.labels.count(e)}" for e in profile.emotions)
    print(f"Saved the profile {path} ({counts} faces) and using it", file=sys.stderr)
    return None, f"profile: {path.name}"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def run_report(still: bool, frames: int, frames_with_faces: int, faces_found: int, tracks: int) -> str:
    """What a run saw, in words: '1 image, 2 faces' for photos; '300 frames,
    faces in 290, 2 faces followed' for a video or a camera."""
    if still:
        return f"{_count(frames, 'image')}, {_count(faces_found, 'face')}"
    return f"{_count(frames, 'frame')}, faces in {frames_with_faces}, {_count(tracks, 'face')} followed"


def _close(outputs: Outputs):
    """Close every output, each whatever the others do (the timeline writes its
    files then, also after Ctrl-C); identities are told apart first, as the JSON
    and the timeline carry them. The first failure is raised once all are closed."""
    failures = []
    if outputs.identities:
        try:
            outputs.identities.assign()
        except FakeBlockError as e:
            failures.append(e)
    for sink in [*outputs.sinks, *([outputs.window] if outputs.window else [])]:
        try:
            sink.close()
        except FakeBlockError as e:
            failures.append(e)
    if outputs.timeline and outputs.timeline.written:
        shown = [join(outputs.summary, p.name) if is_url(outputs.summary) else str(p) for p in outputs.timeline.written]
        print(f"Wrote {', '.join(shown)}", file=sys.stderr)
    for failure in failures[1:]:
        print(f"error: {failure}", file=sys.stderr)
    if failures:
        raise failures[0]
