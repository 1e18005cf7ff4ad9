"""Loading and validating face datasets, and the parsed-array cache.

Every loader returns a :class:`FaceDataset`; every problem in a file raises
:class:`~fakeblock.core.errors.FakeBlockError` naming the file, the row and what is
wrong, unless the caller asked to skip bad rows (then they are counted and
reported, never dropped silently).
"""

import logging
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..core.emotions import FER2013, FERPLUS, FERPLUS_VOTE_COLUMNS
from ..core.errors import FakeBlockError, first_line
from ..core.images import IMAGE_SUFFIXES, is_regular_file, read_image
from ..core.modelfile import file_sha256
from ..core.preprocess import FACE_SIZE, crop_face, to_gray

log = logging.getLogger(__name__)

USAGES = ("Training", "PublicTest", "PrivateTest")
PIXELS_PER_FACE = FACE_SIZE * FACE_SIZE
_CACHE_VERSION = 1
_CHUNK_ROWS = 2048


@dataclass
class FaceDataset:
    """Faces with labels: ``images`` (n, 48, 48) uint8, ``labels`` (n,) int class
    indices into ``classes``, ``usage`` (n,) split names; ``votes`` (n, k) float
    label distributions where the source has them (FER+)."""

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    classes: tuple = FER2013
    source: str = ""
    sha256: str = ""
    votes: np.ndarray | None = None
    skipped: Counter = field(default_factory=Counter)

    def __len__(self):
        return len(self.labels)

    def split(self, usage: str) -> "FaceDataset":
        """The rows of one split (``all`` for every row)."""
        return self.take(slice(None) if usage == "all" else self.usage == usage)

    def take(self, keep) -> "FaceDataset":
        """The rows selected by an index array, mask or slice."""
        return FaceDataset(
            self.images[keep], self.labels[keep], self.usage[keep], self.classes,
            self.source, self.sha256,
            None if self.votes is None else self.votes[keep], self.skipped)

    def split_sizes(self) -> dict:
        """Rows per split, e.g. ``{"Training": 28204, "PublicTest": 3565}``."""
        return {u: int(n) for u, n in zip(*np.unique(self.usage, return_counts=True))}


class BadRows:
    """Collects bad rows: raises on the first one, or counts them when skipping."""

    def __init__(self, path: Path, skip: bool):
        self.path, self.skip, self.reasons = path, skip, Counter()

    def add(self, where: str, reason: str):
        if not self.skip:
            raise FakeBlockError(
                f"{self.path} {where}: {reason} (use --skip-bad-rows to drop bad rows)")
        self.reasons[reason.split(":")[0]] += 1


def load_training_data(path, labels: str = "fer2013", skip_bad_rows: bool = False,
                       cache_dir=None) -> FaceDataset:
    """The dataset for a label set: FER2013 (CSV or image folder), or FER+ votes
    (a FERPlus folder root, or a FER2013 CSV with ``fer2013new.csv`` beside it).

    Faces left out (bad rows with ``skip_bad_rows``, FER+ faces that are mostly
    'unknown') are counted on standard error, never dropped silently.
    """
    path = Path(path)
    if labels != "ferplus":
        dataset = load_dataset(path, skip_bad_rows, cache_dir)
    elif path.is_dir():
        dataset = load_ferplus_folder(path, skip_bad_rows)
    else:
        faces = load_dataset(path, skip_bad_rows=False, cache_dir=cache_dir)
        dataset = join_ferplus_votes(faces, path.parent / "fer2013new.csv")
    if dataset.skipped:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in dataset.skipped.most_common())
        log.warning(f"{path}: left out {sum(dataset.skipped.values())} faces ({reasons})")
    return dataset


def load_dataset(path, skip_bad_rows: bool = False, cache_dir=None) -> FaceDataset:
    """Load FER2013 faces from a Kaggle CSV (plain or gzipped) or an image folder.

    ``cache_dir``: where parsed CSV arrays are kept (None: no cache). The cache
    entry is keyed on the file's hash, so an edited source is parsed again.
    """
    path = Path(path)
    if not path.exists():
        raise FakeBlockError(
            f"{path}: no such file or folder. Download FER2013 from Kaggle "
            "(fer2013.csv) and put it in data/, or pass --data PATH.")
    if path.is_dir():
        return load_image_folder(path, skip_bad_rows)
    if not is_regular_file(path):  # a FIFO or a device would be read for ever
        raise FakeBlockError(f"{path}: not a regular file or folder")
    return load_fer2013_csv(path, skip_bad_rows, cache_dir)


def load_fer2013_csv(path, skip_bad_rows: bool = False, cache_dir=None) -> FaceDataset:
    """Parse a Kaggle FER2013 CSV (``emotion,pixels,Usage``), validating every row."""
    path = Path(path)
    try:
        sha = file_sha256(path)
    except OSError as e:
        raise FakeBlockError(f"{path}: cannot read it ({e.strerror})") from None
    cache_file = Path(cache_dir).expanduser() / f"fer2013-{sha[:16]}-v{_CACHE_VERSION}.npz" if cache_dir else None
    if cache_file and cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as cached:
            return FaceDataset(cached["images"], cached["labels"], cached["usage"],
                               FER2013, str(path), sha)

    bad = BadRows(path, skip_bad_rows)
    images, labels, usage = [], [], []
    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=_CHUNK_ROWS,
                             compression="infer")
        with tqdm(desc=f"Reading {path.name}", unit=" rows", leave=False,
                  mininterval=0.5, delay=1.0) as progress:
            first_row = 1
            for chunk in reader:
                if first_row == 1:
                    _check_columns(path, chunk.columns)
                parsed = _parse_chunk(chunk, first_row, bad)
                images.append(parsed[0])
                labels.append(parsed[1])
                usage.append(parsed[2])
                first_row += len(chunk)
                progress.update(len(chunk))
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as e:
        raise FakeBlockError(f"{path}: not a readable CSV file ({first_line(e)})") from None
    except pd.errors.EmptyDataError:
        raise FakeBlockError(f"{path}: the file is empty; expected a header "
                             "'emotion,pixels,Usage' and rows of faces") from None
    dataset = FaceDataset(np.concatenate(images) if images else np.empty((0, FACE_SIZE, FACE_SIZE), np.uint8),
                          np.concatenate(labels) if labels else np.empty(0, np.int64),
                          np.concatenate(usage) if usage else np.empty(0, "<U11"),
                          FER2013, str(path), sha, skipped=bad.reasons)
    if len(dataset) == 0:
        raise FakeBlockError(f"{path}: no faces in the file" +
                             (f" ({sum(bad.reasons.values())} bad rows skipped)" if bad.reasons else ""))
    if cache_file and not bad.reasons:
        _save_cache(cache_file, dataset)
    return dataset


def _check_columns(path: Path, columns):
    missing = [c for c in ("emotion", "pixels") if c not in columns]
    if missing:
        raise FakeBlockError(
            f"{path}: missing column(s) {', '.join(missing)}; a FER2013 CSV has the "
            f"header 'emotion,pixels,Usage' (found: {','.join(map(str, columns))})")


def _parse_chunk(chunk: pd.DataFrame, first_row: int, bad: BadRows):
    """One chunk of CSV rows -> (images, labels, usage), validated.

    Rows are numbered from 1 after the header, so row N is line N + 1 of the file.
    """
    n = len(chunk)
    rows = np.arange(first_row, first_row + n)
    keep = np.ones(n, bool)

    emotion = pd.to_numeric(chunk["emotion"].str.strip(), errors="coerce").to_numpy()
    label_ok = np.isfinite(emotion) & (emotion == np.round(emotion)) & (emotion >= 0) & (emotion < len(FER2013))
    for i in np.flatnonzero(~label_ok):
        bad.add(f"row {rows[i]}", f"bad label: '{chunk['emotion'].iloc[i]}' is not an emotion "
                                   f"0-{len(FER2013) - 1}")
    keep &= label_ok

    if "Usage" in chunk.columns:
        usage = chunk["Usage"].str.strip().to_numpy(dtype="<U11")
        usage_ok = np.isin(usage, USAGES)
        for i in np.flatnonzero(~usage_ok & keep):
            bad.add(f"row {rows[i]}", f"unknown Usage: '{chunk['Usage'].iloc[i]}' "
                                       f"(expected one of {', '.join(USAGES)})")
        keep &= usage_ok
    else:
        usage = np.full(n, "Training", "<U11")

    pixels = chunk["pixels"].to_numpy()
    images = np.zeros((n, PIXELS_PER_FACE), np.uint8)
    fast = _parse_pixels_fast(pixels)
    if fast is not None:
        values_ok = (fast >= 0).all(axis=1) & (fast <= 255).all(axis=1)
        images[:] = np.clip(fast, 0, 255)
        for i in np.flatnonzero(~values_ok & keep):
            bad.add(f"row {rows[i]}", _pixel_problem(pixels[i]))
        keep &= values_ok
    else:
        for i in range(n):
            try:
                face = parse_pixels(pixels[i])
            except ValueError as e:
                if keep[i]:
                    bad.add(f"row {rows[i]}", str(e))
                keep[i] = False
            else:
                images[i] = face.ravel()
    return (images[keep].reshape(-1, FACE_SIZE, FACE_SIZE), emotion[keep].astype(np.int64),
            usage[keep])


def _parse_pixels_fast(pixels: np.ndarray):
    """All rows at once -> (n, 2304) int array, or None if any row is malformed.

    Each row is followed by a -1 sentinel, so one numpy parse of the whole
    chunk also proves that every row holds exactly 2,304 values.
    """
    if not all(isinstance(p, str) for p in pixels):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(" -1 ".join(pixels) + " -1", dtype=np.int64, sep=" ")
        except (DeprecationWarning, ValueError):
            return None
    if values.size != len(pixels) * (PIXELS_PER_FACE + 1):
        return None
    values = values.reshape(len(pixels), PIXELS_PER_FACE + 1)
    if (values[:, -1] != -1).any():
        return None
    return values[:, :-1]


def parse_pixels(text) -> np.ndarray:
    """One ``pixels`` cell -> a (48, 48) uint8 face, or ValueError saying what is wrong."""
    if not isinstance(text, str):
        # a bad cell like any other, reported with its row number by the caller
        raise ValueError(f"pixels is not text: {text!r}")  # noqa: TRY004
    tokens = text.split()
    if len(tokens) != PIXELS_PER_FACE:
        raise ValueError(f"wrong pixel count: {len(tokens)} values, expected {PIXELS_PER_FACE} "
                         f"({FACE_SIZE}x{FACE_SIZE})")
    for token in tokens:
        if not token.isascii() or not token.isdigit():
            raise ValueError(f"bad pixel value: '{token[:20]}' is not an integer 0-255")
    values = np.array(tokens, dtype=np.int64)
    if values.max() > 255:
        raise ValueError(f"bad pixel value: {values.max()} is outside 0-255")
    return values.astype(np.uint8).reshape(FACE_SIZE, FACE_SIZE)


def _pixel_problem(text: str) -> str:
    try:
        parse_pixels(text)
    except ValueError as e:
        return str(e)
    return "bad pixel value"


def _save_cache(cache_file: Path, dataset: FaceDataset):
    """Write the parsed arrays atomically; a read-only or full disk only costs speed."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_name(cache_file.name + f".{os.getpid()}.partial.npz")
        np.savez(partial, images=dataset.images, labels=dataset.labels, usage=dataset.usage)
        os.replace(partial, cache_file)
    except OSError as e:
        log.warning(f"note: could not cache the parsed data in {cache_file.parent} ({e.strerror}); "
                    "the next run parses the file again")


def load_image_folder(root, skip_bad_rows: bool = False) -> FaceDataset:
    """Load ``train/<emotion>/*.jpg`` and ``test/<emotion>/*.jpg`` (Kaggle's re-upload).

    The split comes from a ``Training_``/``PublicTest_``/``PrivateTest_`` file
    name prefix when present; otherwise ``train/`` is Training, ``test/`` PublicTest.
    """
    root = Path(root)
    folder_usage = {"train": "Training", "test": "PublicTest"}
    files = [(p, split_dir.name.lower(), emotion_dir.name.lower())
             for split_dir in sorted(root.iterdir()) if split_dir.is_dir()
             for emotion_dir in sorted(split_dir.iterdir()) if emotion_dir.is_dir()
             for p in sorted(emotion_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    unknown = sorted({split for _, split, _ in files if split not in folder_usage})
    if unknown:
        raise FakeBlockError(f"{root}: unexpected folder '{unknown[0]}'; expected "
                             "train/<emotion>/ and test/<emotion>/")
    if not files:
        raise FakeBlockError(f"{root}: no images found; expected train/<emotion>/*.jpg "
                             "and test/<emotion>/*.jpg")
    bad = BadRows(root, skip_bad_rows)
    images, labels, usage = [], [], []
    for path, split, emotion in tqdm(files, desc=f"Reading {root.name}", unit=" images",
                                     leave=False, delay=1.0):
        where = str(path.relative_to(root))
        if emotion not in FER2013:
            bad.add(where, f"unknown emotion folder '{emotion}' (expected one of {', '.join(FER2013)})")
            continue
        image = read_image(path)
        if image is None:
            bad.add(where, "not a readable image")
            continue
        gray = to_gray(image)
        images.append(crop_face(gray, (0, 0, gray.shape[1], gray.shape[0])).astype(np.uint8))
        labels.append(FER2013.index(emotion))
        prefix = path.name.split("_", 1)[0]
        usage.append(prefix if prefix in USAGES else folder_usage[split])
    if not images:
        raise FakeBlockError(f"{root}: no readable images ({sum(bad.reasons.values())} bad files skipped)")
    return FaceDataset(np.stack(images), np.array(labels, np.int64), np.array(usage, "<U11"),
                       FER2013, str(root), "", skipped=bad.reasons)


#: FER+ sub-folders and the FER2013 split each holds.
FERPLUS_FOLDERS = {"FER2013Train": "Training", "FER2013Valid": "PublicTest", "FER2013Test": "PrivateTest"}


def _ferplus_votes(votes: np.ndarray):
    """Raw FER+ vote columns (file order, 10) -> (votes in FERPLUS order, keep mask).

    Faces whose votes are mostly 'unknown' or 'not a face' are not kept.
    """
    emotion_columns = [FERPLUS_VOTE_COLUMNS.index(name) for name in FERPLUS]
    emotion_votes = votes[:, emotion_columns].astype(np.float32)
    keep = emotion_votes.sum(axis=1) > votes[:, 8:10].sum(axis=1)
    return emotion_votes, keep


def _with_votes(images, votes, usage, source, sha, skipped) -> FaceDataset:
    emotion_votes, keep = _ferplus_votes(votes)
    if (~keep).any():
        skipped["mostly unknown or not a face"] += int((~keep).sum())
    emotion_votes = emotion_votes[keep]
    distribution = emotion_votes / emotion_votes.sum(axis=1, keepdims=True)
    return FaceDataset(images[keep], distribution.argmax(axis=1), usage[keep], FERPLUS,
                       source, sha, distribution, skipped)


def load_ferplus_folder(root, skip_bad_rows: bool = False) -> FaceDataset:
    """Read Microsoft's FERPlus layout: ``FER2013Train/``, ``FER2013Valid/``,
    ``FER2013Test/``, each with 48x48 PNGs and a headerless ``label.csv``
    (image name, face box, then 10 vote counts)."""
    import cv2

    root = Path(root)
    folders = [root / name for name in FERPLUS_FOLDERS if (root / name).is_dir()]
    if not folders:
        raise FakeBlockError(f"{root}: not a FER+ folder (expected {', '.join(FERPLUS_FOLDERS)} "
                             "sub-folders, each with a label.csv)")
    bad = BadRows(root, skip_bad_rows)
    images, votes, usage = [], [], []
    for folder in folders:
        label_file = folder / "label.csv"
        if not label_file.is_file():
            raise FakeBlockError(f"{label_file}: missing; each FER+ folder needs its label.csv")
        try:
            table = pd.read_csv(label_file, header=None, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise FakeBlockError(f"{label_file}: not a readable label.csv ({first_line(e)})") from None
        if table.shape[1] != 12:
            raise FakeBlockError(f"{label_file}: {table.shape[1]} columns, expected 12 (image name, "
                                 "face box, 10 vote counts)")
        counts = table.iloc[:, 2:].apply(pd.to_numeric, errors="coerce").to_numpy()
        for i, row in enumerate(tqdm(table.itertuples(index=False), total=len(table), leave=False,
                                     desc=f"Reading {folder.name}", unit=" images", delay=1.0)):
            where = f"{label_file.name} row {i + 1}"
            if not (np.isfinite(counts[i]).all() and (counts[i] >= 0).all()):
                bad.add(where, "bad votes: vote counts must be whole numbers 0 or more")
                continue
            image = read_image(folder / row[0], cv2.IMREAD_GRAYSCALE)
            if image is None:
                bad.add(where, f"unreadable image: {row[0]} is missing or not an image")
                continue
            if image.shape != (FACE_SIZE, FACE_SIZE):
                image = crop_face(image, (0, 0, image.shape[1], image.shape[0])).astype(np.uint8)
            images.append(image)
            votes.append(counts[i])
            usage.append(FERPLUS_FOLDERS[folder.name])
    if not images:
        raise FakeBlockError(f"{root}: no usable faces")
    return _with_votes(np.stack(images), np.array(votes), np.array(usage, "<U11"), str(root), "",
                       bad.reasons)


def join_ferplus_votes(faces: FaceDataset, votes_csv: Path) -> FaceDataset:
    """Join FER2013 faces with Microsoft's ``fer2013new.csv`` (same rows, same order)."""
    if not votes_csv.is_file():
        raise FakeBlockError(f"{votes_csv}: missing; FER+ labels for a FER2013 CSV come from "
                             "Microsoft's fer2013new.csv beside it (or pass a FER+ folder)")
    try:
        table = pd.read_csv(votes_csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise FakeBlockError(f"{votes_csv}: not a readable CSV ({first_line(e)})") from None
    if len(table) != len(faces) or table.shape[1] < 10:
        raise FakeBlockError(f"{votes_csv}: {len(table)} rows and {table.shape[1]} columns; expected "
                             f"{len(faces)} rows (one per row of {Path(faces.source).name}) ending "
                             "in 10 vote columns")
    counts = table.iloc[:, -10:].apply(pd.to_numeric, errors="coerce").to_numpy()
    broken = ~(np.isfinite(counts).all(axis=1) & (counts >= 0).all(axis=1))
    if broken.any():
        raise FakeBlockError(f"{votes_csv} row {int(np.flatnonzero(broken)[0]) + 1}: bad votes: "
                             "vote counts must be whole numbers 0 or more")
    return _with_votes(faces.images, counts, faces.usage, faces.source, faces.sha256, Counter())


def ferplus_votes_for(faces: FaceDataset, ferplus: FaceDataset) -> np.ndarray:
    """FER+ vote distributions for ``faces`` over *their* classes, joined by
    pixels (FER+ holds the same 48x48 faces): ``(n, len(faces.classes))``,
    rows of NaN where FER+ has no such face or no vote for any of those classes
    (e.g. only contempt votes when joining onto FER2013's seven)."""
    columns = [ferplus.classes.index(name) for name in faces.classes]
    votes = ferplus.votes[:, columns]
    by_pixels = {image.tobytes(): row for row, image in enumerate(ferplus.images)}
    joined = np.full((len(faces), len(faces.classes)), np.nan, np.float32)
    for i, image in enumerate(faces.images):
        row = by_pixels.get(image.tobytes())
        if row is not None and votes[row].sum() > 0:
            joined[i] = votes[row] / votes[row].sum()
    return joined
