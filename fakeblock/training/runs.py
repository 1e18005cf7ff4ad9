"""Training runs: the recipes, a run's settings, its work folder, the
train/validation split, and the best epoch so far.

A run keeps its state in a work folder outside ``model/`` (default
``~/.cache/fakeblock/runs/<name>``): the settings, Keras' BackupAndRestore
state (so ``--resume`` continues an interrupted run), the best epoch so far and
the per-epoch log. Only a finished run writes into the output folder, and it
writes each file atomically (:mod:`fakeblock.training.saving`).
"""

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..core.atomic import make_folder, write_json
from ..core.errors import FakeBlockError
from .data import FaceDataset
from .references import checked_start, checked_teachers

log = logging.getLogger(__name__)

#: Settings of each training recipe; ``original`` reproduces the original project.
RECIPES = {
    "original": {"optimizer": "sgd", "learning_rate": 0.03, "momentum": 0.4, "loss": "mse",
                 "batch_size": 50, "augment": False, "label_smoothing": 0.0, "weight_decay": 0.0},
    "improved": {"optimizer": "adamw", "learning_rate": 2e-3, "momentum": 0.0, "loss": "crossentropy",
                 "batch_size": 64, "augment": True, "label_smoothing": 0.1, "weight_decay": 5e-4},
}


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved with it, for --resume and the card)."""

    arch: str = "default"
    recipe: str = "improved"
    epochs: int = 60
    labels: str = "fer2013"
    label_mode: str = "single"
    seed: int = 1337
    classes: tuple = ()
    recipe_settings: dict = field(default_factory=dict)
    init_from: dict = field(default_factory=dict)
    teachers: list = field(default_factory=list)
    votes: dict = field(default_factory=dict)

    def __post_init__(self):
        self.classes = tuple(self.classes)
        if not self.recipe_settings:
            self.recipe_settings = dict(RECIPES[self.recipe])


class RunFolder:
    """The files of one training run, kept outside ``model/``."""

    def __init__(self, root):
        self.root = Path(root).expanduser()
        self.config = self.root / "config.json"
        self.backup = self.root / "backup"
        self.best = self.root / "best.keras"
        self.best_record = self.root / "best.json"
        self.log = self.root / "history.csv"
        self.finished = self.root / "finished.json"

    def start(self, config: TrainConfig, resume: bool, fresh: bool) -> TrainConfig:
        """Begin a new run or pick up the saved one; returns the settings to use.

        A finished run's folder is simply replaced by a new run: only an
        unfinished one asks for ``--resume`` or ``--fresh``."""
        if resume:
            if not self.config.exists():
                raise FakeBlockError(f"no run to continue in {self.root}")
            if self.finished.exists():
                raise FakeBlockError(f"the run in {self.root} has finished: nothing to continue "
                                     "(train further with --init-from MODEL)")
            return TrainConfig(**json.loads(self.config.read_text()))
        if self.config.exists() and not self.finished.exists() and not fresh:
            raise FakeBlockError(
                f"an unfinished run's checkpoints are in {self.root}: pass --resume to continue "
                "it, or --fresh to discard it and start over")
        if self.root.is_symlink() or (self.root.exists() and any(self.root.iterdir())
                                      and not self.config.is_file()):
            raise FakeBlockError(f"{self.root}: exists and is not a training run's folder; "
                                 "choose another --name or --work-dir")
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            self.root.mkdir(parents=True)
        except OSError as e:
            raise FakeBlockError(f"{self.root}: cannot create the run folder ({e.strerror})") from None
        write_json(asdict(config), self.config)
        return config

    def saved(self) -> TrainConfig:
        """The settings of the run in this folder (finished or not), for ``--export``."""
        if not self.config.exists():
            raise FakeBlockError(f"no run in {self.root}")
        return TrainConfig(**json.loads(self.config.read_text()))

    def finish(self, model_path: Path):
        """Mark the run finished: its model is saved, so the next run may replace it."""
        write_json({"model": str(model_path)}, self.finished)


class Splits(NamedTuple):
    """The faces a run trains on, validates on, and tests on (None: no test split)."""

    train: FaceDataset
    validation: FaceDataset
    test: FaceDataset | None


def choose_splits(dataset: FaceDataset, split: str, seed: int) -> Splits:
    """The splits by the Usage column, or a seeded stratified 80/20 (no test split)."""
    if split == "random":
        from sklearn.model_selection import train_test_split

        train_rows, val_rows = train_test_split(np.arange(len(dataset)), test_size=0.2,
                                                random_state=seed, stratify=dataset.labels)
        return Splits(dataset.take(train_rows), dataset.take(val_rows), None)
    sizes = dataset.split_sizes()
    for needed in ("Training", "PublicTest"):
        if not sizes.get(needed):
            raise FakeBlockError(f"{dataset.source}: no {needed} rows; use --split random "
                                 "to split the data yourself")
    test = dataset.split("PrivateTest") if sizes.get("PrivateTest") else None
    return Splits(dataset.split("Training"), dataset.split("PublicTest"), test)


def new_config(dataset: FaceDataset, *, arch: str = "default", recipe: str = "improved", epochs: int = 40,
               labels: str = "fer2013", label_mode: str = "probability", seed: int = 1337,
               learning_rate: float | None = None, init_from=None, teachers=(), teacher_weight: float = 0.5,
               votes: dict | None = None, ema: bool = False, camera: bool = False,
               host_augmentation: bool = False, logit_adjustment: float = 0.0) -> TrainConfig:
    """The settings of a new run on ``dataset``, with every model it names checked
    first; the keyword arguments are BuildTrainTestCNN.py's flags, but ``votes``
    is the FER+ folder as :func:`checked_votes` checked it."""
    settings = dict(RECIPES[recipe])
    if learning_rate:
        settings["learning_rate"] = learning_rate
    if teachers:
        settings["teacher_weight"] = teacher_weight
    if ema:
        settings["ema"] = True
    if logit_adjustment:
        if settings["loss"] != "crossentropy":
            raise FakeBlockError("--logit-adjustment needs the improved recipe (a cross-entropy loss)")
        settings["logit_adjustment"] = logit_adjustment
    if camera:
        if arch == "original" or not settings["augment"]:
            raise FakeBlockError("--camera-augmentation needs the default network and the improved recipe")
        settings["camera"] = True
    if host_augmentation:
        if not settings["augment"] or camera:
            raise FakeBlockError("--host-augmentation needs the improved recipe, without --camera-augmentation")
        settings["host_augmentation"] = True
    return TrainConfig(arch=arch, recipe=recipe, epochs=epochs, labels=labels,
                       label_mode=label_mode if labels == "ferplus" else "single", seed=seed,
                       classes=dataset.classes, recipe_settings=settings,
                       init_from=checked_start(init_from, arch, dataset.classes) if init_from else {},
                       teachers=checked_teachers(teachers, dataset.classes),
                       votes=votes or {})


def announce(config: TrainConfig, splits: Splits, run: RunFolder):
    """Say what the run will do, before the first epoch."""
    if config.init_from:
        kept = "" if tuple(config.init_from["classes"]) == config.classes else " (all but its classifier)"
        log.info(f"Starting from the weights of {config.init_from['model']}{kept}")
    if config.recipe_settings.get("host_augmentation"):
        log.info("Augmenting the training faces on the CPU (OpenCV), outside the model")
    log.info(f"Training the {config.arch} network ({config.recipe} recipe) for {config.epochs} epochs "
             f"on {len(splits.train)} faces, validating on {len(splits.validation)}; checkpoints in {run.root}")


def output_folder(out) -> Path:
    """The folder finished models go to, created if need be."""
    out = Path(out)
    make_folder(out, "output folder")
    return out


def best_epoch(run: RunFolder) -> dict:
    """The run's best epoch so far, ``{"epoch": n, "val_accuracy": a}`` (for ``--export``)."""
    if not run.best_record.exists():
        raise FakeBlockError(f"--export: the run in {run.root} has no finished epoch yet")
    best = json.loads(run.best_record.read_text())
    log.info(f"Exporting epoch {best['epoch']} of the run in {run.root}")
    return best
