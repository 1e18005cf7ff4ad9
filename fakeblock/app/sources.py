"""Where frames come from: a camera, a video, an image, a folder of images, or the demo."""

import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import FakeBlockError, InputError
from ..core.images import IMAGE_SUFFIXES, check_size, is_regular_file, load_picture, read_image, shown_path

log = logging.getLogger(__name__)

DEMO_IMAGE = Path(__file__).resolve().parents[1] / "demo" / "astronaut.jpg"
DEMO_FRAMES, DEMO_FPS, DEMO_SIZE = 120, 30.0, (640, 480)


@dataclass
class Frame:
    """One picture to analyse. ``time_s`` is None for still images; ``new_scene``
    marks a picture unrelated to the one before (faces are not followed across it)."""

    index: int
    image: np.ndarray
    name: str
    time_s: float | None
    new_scene: bool = False


class CameraStopped(Exception):
    """The camera stopped delivering frames mid-stream."""


class Source:
    """Base of all sources: iterate for frames; ``total`` is the frame count when known."""

    label = ""
    total = None
    fps = None
    is_camera = False
    is_still = False  # images: output is images, not a video

    def __iter__(self):
        raise NotImplementedError

    def close(self):
        pass


class CameraSource(Source):
    is_camera = True

    def __init__(self, index: int):
        self.index, self.label = index, f"camera {index}"
        self.capture = cv2.VideoCapture(index)
        ok, self.first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.capture.release()
            raise InputError(f"camera {index} did not open (no camera, or another app is using "
                                 "it); run on a file instead with --source VIDEO_OR_IMAGE, or "
                                 "--source demo")
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or None

    def __iter__(self):
        started = time.monotonic()
        image, index = self.first, 0
        while True:
            yield Frame(index, image, self.label, round(time.monotonic() - started, 3))
            ok, image = self.capture.read()
            if not ok:
                raise CameraStopped(f"camera {self.index} stopped delivering frames after "
                                    f"{index + 1} frames")
            index += 1

    def close(self):
        self.capture.release()


def _plain_name_for(path: Path) -> Path:
    """A link with a plain name, in a new temporary folder, to a video whose path
    is not valid UTF-8 (which OpenCV cannot open: it crashes)."""
    folder = Path(tempfile.mkdtemp(prefix="fakeblock-video-"))
    suffix = path.suffix if path.suffix.isascii() and path.suffix.isprintable() else ""
    link = folder / f"video{suffix}"
    try:
        os.symlink(os.fsencode(path.resolve()), link)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(f"{shown_path(path)}: the file name is not valid UTF-8 and cannot be linked to "
                         "(rename the file)") from None
    return link


class VideoSource(Source):
    def __init__(self, path: Path):
        self.path, self.label = path, shown_path(path.name)
        try:
            str(path).encode("utf-8")
            self.link = None
        except UnicodeEncodeError:
            self.link = _plain_name_for(path)
        self.capture = cv2.VideoCapture(str(self.link or path))
        if self.capture.isOpened():
            try:
                check_size(int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)) or 1,
                           int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) or 1, path)
            except FakeBlockError:
                self.close()
                raise
        ok, self.first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.close()
            raise InputError(f"{self.label if self.link else path}: not a readable video or image")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and math.isfinite(fps) and fps > 0 else None
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.total = count if count > 0 else None

    def __iter__(self):
        image, index = self.first, 0
        while image is not None:
            yield Frame(index, image, self.label, round(index / self.fps, 3) if self.fps else None)
            ok, image = self.capture.read()
            index += 1
            if not ok:
                break

    def close(self):
        self.capture.release()
        if self.link:
            shutil.rmtree(self.link.parent, ignore_errors=True)


class ImageSource(Source):
    """One image file, or every image in a folder (sorted by name)."""

    is_still = True

    def __init__(self, path: Path):
        self.path, self.label = path, path.name
        self.preloaded = {}  # a single image is read at once: a bad one is an error, not a warning
        if path.is_dir():
            self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            for odd in [p for p in self.files if not is_regular_file(p)]:
                log.warning(f"warning: {odd}: not a regular file, skipped")
                self.files.remove(odd)
            if not self.files:
                raise InputError(f"{path}: no images in the folder (looked for "
                                     f"{', '.join(sorted(IMAGE_SUFFIXES))})")
        else:
            self.files = [path]
            self.preloaded[path] = load_picture(path)
        self.total = len(self.files)
        self.unreadable = []

    def __iter__(self):
        for index, path in enumerate(self.files):
            try:
                image = self.preloaded.pop(path, None)
                image = load_picture(path) if image is None else image
            except FakeBlockError as e:
                log.warning(f"warning: {e}, skipped")
                self.unreadable.append(path)
                continue
            yield Frame(index, image, path.name, None, new_scene=True)


class DemoSource(Source):
    """The built-in demo: a public-domain portrait, slowly panned and zoomed."""

    label, fps, total = "demo", DEMO_FPS, DEMO_FRAMES

    def __init__(self, loop: bool = False):
        self.portrait = read_image(DEMO_IMAGE, cv2.IMREAD_COLOR)
        if self.portrait is None:
            raise InputError(f"{DEMO_IMAGE}: the demo image is missing; reinstall FakeBlock")
        self.loop = loop
        self.backdrop = cv2.GaussianBlur(cv2.resize(self.portrait, DEMO_SIZE), (0, 0), 25) // 2

    def render(self, index: int) -> np.ndarray:
        """Demo frame ``index`` (640x480 BGR)."""
        width, height = DEMO_SIZE
        phase = 2 * math.pi * index / DEMO_FRAMES
        side = int(400 + 40 * math.sin(phase))
        portrait = cv2.resize(self.portrait, (side, side), interpolation=cv2.INTER_AREA)
        x = int((width - side) / 2 + 90 * math.sin(phase))
        y = (height - side) // 2
        frame = self.backdrop.copy()
        frame[y:y + side, x:x + side] = portrait
        return frame

    def __iter__(self):
        index = 0
        while index < DEMO_FRAMES or self.loop:
            yield Frame(index, self.render(index % DEMO_FRAMES), self.label,
                        round(index / DEMO_FPS, 3))
            index += 1


def open_source(spec: str | None, loop_demo: bool = False) -> Source:
    """Open what ``--source`` names: a camera index, ``demo``, a video, an image or a
    folder. ``None``: camera 0, or the demo (with a message) when no camera opens."""
    if spec is None:
        try:
            return CameraSource(0)
        except FakeBlockError:
            log.warning("No camera found (camera 0 did not open): showing the built-in demo instead. "
                        "Use --source VIDEO, IMAGE or FOLDER for a file, or --source N for another "
                        "camera.")
            return DemoSource(loop=loop_demo)
    if spec.isdigit():
        return CameraSource(int(spec))
    if spec == "demo":
        return DemoSource(loop=loop_demo)
    path = Path(spec)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if not path.is_dir() and not is_regular_file(path):  # a FIFO or a device would be waited on
        raise InputError(f"{path}: not a regular file, folder, camera number or 'demo'")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return VideoSource(path)
