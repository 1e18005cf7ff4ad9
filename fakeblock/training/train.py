"""Fitting a model: recipes, checkpoints, resume, and the model card.

A run keeps its state in a work folder outside ``model/`` (default
``~/.cache/fakeblock/runs/<name>``): the settings, Keras' BackupAndRestore
state (so ``--resume`` continues an interrupted run), the best epoch so far and
the per-epoch log. Only a finished run writes into the output folder, and it
writes each file atomically. Keras is imported only once the data has loaded.
"""

import json
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..core.atomic import make_folder, write_json
from ..core.errors import FakeBlockError
from ..core.preprocess import images_to_batch
from .data import FaceDataset

#: Settings of each training recipe; ``original`` reproduces the original project.
RECIPES = {
    "original": {"optimizer": "sgd", "learning_rate": 0.03, "momentum": 0.4, "loss": "mse",
                 "batch_size": 50, "augment": False, "label_smoothing": 0.0, "weight_decay": 0.0},
    "improved": {"optimizer": "adamw", "learning_rate": 2e-3, "momentum": 0.0, "loss": "crossentropy",
                 "batch_size": 64, "augment": True, "label_smoothing": 0.1, "weight_decay": 5e-4},
}


EMA_MOMENTUM = 0.999  # --ema: the average spans about 1,000 steps (2 epochs of FER2013)
CALIBRATION_FACES = 4096  # training faces, un-augmented, that measure the BatchNorm statistics
CALIBRATED = f"measured on {CALIBRATION_FACES} un-augmented training faces"  # (the model card says so)


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


def targets(dataset: FaceDataset, label_mode: str) -> np.ndarray:
    """Training targets: one-hot labels, or the annotators' vote distribution."""
    if label_mode == "probability":
        return dataset.votes.astype(np.float32)
    return np.eye(len(dataset.classes), dtype=np.float32)[dataset.labels]


def distilled_targets(targets_: np.ndarray, images: np.ndarray, teachers: list, weight: float,
                      classes: tuple) -> np.ndarray:
    """Blend the training targets with the teachers' mean scores on the same
    faces (knowledge distillation): ``(1 - weight) * targets + weight * teachers``.
    A teacher of other classes is matched by class name: a class it lacks
    scores 0, one the student lacks is dropped, and its scores sum to one again."""
    from ..core.networks import load_model
    from .evaluate import predict_scores

    def on_student_classes(teacher):
        scores = predict_scores(load_model(teacher["path"]), images)
        own = list(teacher.get("classes") or classes)
        mapped = np.stack([scores[:, own.index(c)] if c in own else np.zeros(len(scores)) for c in classes], 1)
        return mapped / np.maximum(mapped.sum(axis=1, keepdims=True), 1e-12)

    scores = np.mean([on_student_classes(t) for t in teachers], axis=0)
    return ((1 - weight) * targets_ + weight * scores).astype(np.float32)


def voted_targets(targets_: np.ndarray, train: FaceDataset, votes: dict) -> np.ndarray:
    """Blend FER2013's single labels with the FER+ annotators' votes on the same
    faces (``votes["path"]``, a FER+ folder): ``(1 - weight) * labels + weight * votes``
    where FER+ has the face, the label alone elsewhere."""
    from .data import ferplus_votes_for

    joined = ferplus_votes_for(train, load_votes(votes))
    found = ~np.isnan(joined).any(axis=1)
    print(f"FER+ votes found for {found.sum()} of {len(train)} training faces")
    blended = targets_.copy()
    blended[found] = (1 - votes["weight"]) * targets_[found] + votes["weight"] * joined[found]
    return blended


def calibration_faces(train: FaceDataset, seed: int) -> np.ndarray:
    """The seeded sample of training faces that :func:`~fakeblock.core.networks.recalibrate_batchnorm`
    measures the BatchNorm statistics on, as a model input batch."""
    rows = np.random.default_rng(seed).permutation(len(train))[:CALIBRATION_FACES]
    return images_to_batch(train.images[np.sort(rows)])


def compile_model(model, config: TrainConfig, steps_per_epoch: int, class_shares: np.ndarray | None = None):
    """Attach the recipe's optimizer, learning-rate schedule and loss.

    With the recipe's ``logit_adjustment`` (tau), the loss is
    :class:`~fakeblock.training.losses.LogitAdjustedCrossentropy` on
    ``class_shares``, the training targets' means.
    """
    import keras

    r = config.recipe_settings
    ema = {"use_ema": r.get("ema", False), "ema_momentum": EMA_MOMENTUM}
    if r["optimizer"] == "sgd":
        optimizer = keras.optimizers.SGD(r["learning_rate"], momentum=r["momentum"], **ema)
    else:
        total = max(1, config.epochs * steps_per_epoch)
        warmup = min(total // 10, 3 * steps_per_epoch)
        schedule = keras.optimizers.schedules.CosineDecay(
            r["learning_rate"] / 10, decay_steps=total - warmup, alpha=0.01,
            warmup_target=r["learning_rate"], warmup_steps=warmup)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=r["weight_decay"], **ema)
    if r["loss"] == "mse":
        loss = keras.losses.MeanSquaredError()
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=r["label_smoothing"])
        if r.get("logit_adjustment"):
            from .losses import LogitAdjustedCrossentropy
            loss = LogitAdjustedCrossentropy(class_shares, r["logit_adjustment"], r["label_smoothing"])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def fit(config: TrainConfig, train: FaceDataset, val: FaceDataset, run: RunFolder) -> dict:
    """Train (or continue training) ``config`` on ``train``, validating on ``val``.

    Returns the best epoch's record, ``{"epoch": n, "val_accuracy": a}``; the
    best model itself is in ``run.best``.
    """
    from ..core.quiet_imports import import_keras
    keras = import_keras()
    from ..core.networks import build_model
    from .callbacks import AtomicBestCheckpoint, BatchNormRecalibration, EpochTimer

    keras.utils.set_random_seed(config.seed)
    on_host = config.recipe_settings.get("host_augmentation", False)
    model = build_model(config.arch, len(config.classes), augment=config.recipe_settings["augment"] and not on_host,
                        seed=config.seed, camera=config.recipe_settings.get("camera", False))
    if config.init_from:
        copy_weights(config.init_from["path"], model)
    callbacks = [
        EpochTimer(),
        # with --ema: validate, checkpoint and keep the moving average of the weights
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.recipe_settings.get("ema") else []),
        # augmented training faces make BatchNorm's running statistics wrong for plain ones
        *([BatchNormRecalibration(calibration_faces(train, config.seed))]
          if config.recipe_settings["augment"] else []),
        keras.callbacks.BackupAndRestore(str(run.backup), save_freq="epoch", delete_checkpoint=False),
        AtomicBestCheckpoint(run.best, run.best_record),
        keras.callbacks.CSVLogger(str(run.log), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    train_targets = targets(train, config.label_mode)
    if config.teachers:
        print(f"Distilling from {', '.join(t['model'] for t in config.teachers)}")
        train_targets = distilled_targets(train_targets, train.images, config.teachers,
                                          config.recipe_settings["teacher_weight"], config.classes)
    if config.votes:
        train_targets = voted_targets(train_targets, train, config.votes)
    batch_size = config.recipe_settings["batch_size"]
    compile_model(model, config, steps_per_epoch=int(np.ceil(len(train) / batch_size)),
                  class_shares=targets(train, config.label_mode).mean(axis=0))
    if on_host:
        from .hostaugment import AugmentedFaces
        augmented = AugmentedFaces(images_to_batch(train.images), train_targets, batch_size, config.seed)
        training = {"x": augmented}
        callbacks.insert(0, augmented.follow_epochs())
    else:
        training = {"x": images_to_batch(train.images), "y": train_targets, "batch_size": batch_size,
                    "shuffle": True}
    model.fit(**training, validation_data=(images_to_batch(val.images), targets(val, config.label_mode)),
              epochs=config.epochs, callbacks=callbacks, verbose=1 if sys.stdout.isatty() else 2)
    if not run.best_record.exists():
        raise FakeBlockError(f"training in {run.root} produced no usable epoch (loss diverged?)")
    return json.loads(run.best_record.read_text())


def checked_start(path, arch: str, classes: tuple) -> dict:
    """Check that the saved model at ``path`` can start an ``arch`` run over
    ``classes``; returns where it is and what the new card records of it: its
    name, its classes, and the epochs and seconds of training behind it (from
    its own card). A model of other classes (FER+ for FER2013, say) lends every
    layer but the classifier, which starts afresh."""
    from ..core.modelfile import check_model_file, read_card

    path = check_model_file(path)
    card = read_card(path) or {}
    if card.get("architecture", arch) != arch:
        raise FakeBlockError(f"--init-from {path}: it is the {card['architecture']} network, "
                             f"not --arch {arch}")
    earlier = card.get("initialised_from") or {}
    return {"model": path.name, "path": str(path.resolve()),
            "classes": list(card.get("classes", classes)),
            "epochs": (card.get("epochs_run") or 0) + (earlier.get("epochs") or 0),
            "training_seconds": (card.get("training_seconds") or 0) + (earlier.get("training_seconds") or 0)}


def checked_teachers(paths, classes: tuple) -> list:
    """Check the ``--teacher`` models: saved models whose classes are the data's,
    or all among them, or include them all (FER2013's seven and FER+'s eight);
    returns their names, classes and where they are."""
    from ..core.modelfile import check_model_file, read_card

    teachers = []
    for given in paths:
        path = check_model_file(given)
        own = tuple((read_card(path) or {}).get("classes", classes))
        if not (set(own) <= set(classes) or set(classes) <= set(own)):
            raise FakeBlockError(f"--teacher {path}: its classes ({', '.join(own)}) do not match "
                                 f"the data's ({', '.join(classes)})")
        teachers.append({"model": path.name, "path": str(path.resolve()), "classes": list(own)})
    return teachers


def checked_votes(folder, weight: float, labels: str) -> dict:
    """Check ``--votes``: a FER+ folder whose votes join FER2013's labels."""
    from .data import FERPLUS_FOLDERS

    folder = Path(folder)
    if labels != "fer2013":
        raise FakeBlockError("--votes blends FER+ votes into FER2013's labels: use it with --labels fer2013")
    if not any((folder / name / "label.csv").is_file() for name in FERPLUS_FOLDERS):
        raise FakeBlockError(f"--votes {folder}: not a FER+ folder (expected FER2013Train/label.csv)")
    return {"folder": folder.name, "path": str(folder.resolve()), "weight": weight}


def load_votes(votes: dict) -> FaceDataset | None:
    """The FER+ data a :func:`checked_votes` entry names (None for none): a model
    trained with FER+ votes has its confidence fitted to their share."""
    from .data import load_ferplus_folder

    return load_ferplus_folder(votes["path"], skip_bad_rows=True) if votes else None


def copy_weights(path, model):
    """Start ``model`` from the weights of the saved model at ``path``: every
    layer, or every layer but the classifier where the two differ in classes."""
    from ..core.networks import CLASSIFIER, load_model

    source = load_model(path)
    pairs = list(zip(*([layer for layer in net.layers if layer.weights] for net in (model, source))))
    if pairs and pairs[-1][0].name == CLASSIFIER and pairs[-1][0].output.shape != pairs[-1][1].output.shape:
        pairs.pop()  # other classes: a new classifier
    if len(model.weights) != len(source.weights) or any(
            [w.shape for w in mine.weights] != [w.shape for w in theirs.weights] for mine, theirs in pairs):
        raise FakeBlockError(f"--init-from {path}: its layers do not match the {model.name} network")
    for mine, theirs in pairs:
        mine.set_weights(theirs.get_weights())


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
        print(f"Starting from the weights of {config.init_from['model']}{kept}")
    if config.recipe_settings.get("host_augmentation"):
        print("Augmenting the training faces on the CPU (OpenCV), outside the model")
    print(f"Training the {config.arch} network ({config.recipe} recipe) for {config.epochs} epochs "
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
    print(f"Exporting epoch {best['epoch']} of the run in {run.root}")
    return best


def save_trained(config: TrainConfig, run: RunFolder, best: dict, dataset: FaceDataset,
                 splits: Splits, split: str, model_path: Path):
    """Evaluate the run's best epoch (calibrating its confidence on the validation
    faces) and write the model, its TF Lite copy, its card and plots atomically."""
    import pandas as pd

    from ..core.networks import batchnorm_layers, load_model
    from .evaluate import calibrate_and_evaluate, plot_history, plot_validation_confusion

    model = load_model(run.best)
    calibration, metrics = calibrate_and_evaluate(model, model_path.name, splits.validation, splits.test,
                                                  load_votes(config.votes))
    history = pd.read_csv(run.log)
    card = {
        "model": model_path.name,
        "classes": list(config.classes),
        "input": "48x48 grayscale face crop, raw pixel values 0-255 (fakeblock.core.preprocess)",
        "architecture": config.arch,
        "parameters": int(model.count_params()),
        "recipe": config.recipe,
        "settings": config.recipe_settings,
        "labels": config.labels,
        "label_mode": config.label_mode,
        "seed": config.seed,
        "data": {"file": Path(dataset.source).name, "sha256": dataset.sha256, "split": split,
                 "sizes": {k: len(v) for k, v in splits._asdict().items() if v is not None}},
        "initialised_from": {k: v for k, v in config.init_from.items() if k != "path"} or None,
        "teachers": [t["model"] for t in config.teachers] or None,
        "votes": {k: v for k, v in config.votes.items() if k != "path"} or None,
        "epochs_run": len(history),
        "epochs_planned": config.epochs,
        "best_epoch": int(best["epoch"]),
        "training_seconds": round(float(history["seconds"].sum()), 1) if "seconds" in history else None,
        "batchnorm_statistics": (CALIBRATED if config.recipe_settings["augment"] and batchnorm_layers(model)
                                 else None),
        "calibration": calibration,
        "metrics": metrics,
        "trained_on": "FER2013 (research use only); see README.md, Licence",
    }
    save_model_files(model, model_path, card)
    plot_history(run.log, model_path.with_name(f"{model_path.stem}-curves.png"),
                 f"{model_path.name}: training curves")
    plot_validation_confusion(metrics, model_path)
    print(f"Saved {model_path}, its card and plots")


def load_saved(model_path: Path, dataset: FaceDataset) -> tuple:
    """A saved model and its card (a bare one if it has none), checked to score
    ``dataset``'s classes."""
    from ..core.modelfile import read_card
    from ..core.networks import load_model
    from .evaluate import check_model_classes

    model = load_model(model_path)
    check_model_classes(model, model_path, dataset)
    return model, read_card(model_path) or {"model": model_path.name}


def recalibrate_saved(model_path: Path, dataset: FaceDataset, splits: Splits, seed: int, votes: dict):
    """The ``--recalibrate`` command, for models trained before FakeBlock measured
    BatchNorm statistics on un-augmented faces: measure them, fit the confidence
    calibration again (against ``votes``' share where given, :func:`checked_votes`),
    re-evaluate, and rewrite the model, its TF Lite copy, its card and its plots
    atomically."""
    from ..core.networks import recalibrate_batchnorm
    from .evaluate import calibrate_and_evaluate, plot_validation_confusion

    model, card = load_saved(model_path, dataset)
    if not recalibrate_batchnorm(model, calibration_faces(splits.train, seed)):
        raise FakeBlockError(f"{model_path}: the {model.name} network has no BatchNorm layers "
                             "to recalibrate")
    calibration, metrics = calibrate_and_evaluate(model, f"{model_path.name}, recalibrated",
                                                  splits.validation, splits.test, load_votes(votes),
                                                  card.get("photo_rule"))
    card.update(classes=list(dataset.classes), batchnorm_statistics=CALIBRATED, calibration=calibration,
                metrics=metrics)
    save_model_files(model, model_path, card)
    plot_validation_confusion(metrics, model_path)
    print(f"Saved {model_path}, its card and its plots")


def calibrate_saved(model_path: Path, dataset: FaceDataset, splits: Splits, votes: dict,
                    photo_tau: float | None = None):
    """The ``--calibrate-confidence`` command: fit a saved model's confidence
    calibration on the validation faces (against ``votes``' share where given,
    :func:`checked_votes`) and rewrite its card (calibration and metrics) and
    plots, and its TF Lite copy where that is missing or stale; the ``.keras``
    file itself is unchanged. ``photo_tau``: give the card a photo rule (the
    mirrored face too, and the scores divided by the training class shares to
    this power; 0 removes it); None keeps the card's."""
    from ..core.calibration import prior_weights
    from ..core.modelfile import current_lite_copy
    from .evaluate import calibrate_and_evaluate, plot_validation_confusion

    model, card = load_saved(model_path, dataset)
    if photo_tau is not None:
        card.pop("photo_rule", None)
        if photo_tau:
            shares = targets(splits.train, "single").mean(axis=0)
            card["photo_rule"] = {"tta": True, "tau": photo_tau, "class_weights": prior_weights(shares, photo_tau),
                                  "applies_to": "still photos (each classified once); not video frames"}
    calibration, metrics = calibrate_and_evaluate(model, model_path.name, splits.validation, splits.test,
                                                  load_votes(votes), card.get("photo_rule"))
    card.update(classes=list(dataset.classes), calibration=calibration, metrics=metrics)
    if current_lite_copy(model_path, card):
        write_json(card, model_path.with_suffix(".json"))
    else:  # a model from before FakeBlock shipped TF Lite copies: write it now
        save_model_files(model, model_path, card, keras_file=False)
    plot_validation_confusion(metrics, model_path)
    print(f"Calibrated {model_path.name} on {calibration['fitted_on']}; its card and plots rewritten")


def save_model_files(model, model_path: Path, card: dict, keras_file: bool = True):
    """Write the model (``keras_file``), its TF Lite copy for the app, and its card
    with both files' hashes, each atomically and the card last: a run stopped in
    between leaves a card whose hashes do not match, and the app then converts
    the ``.keras`` itself rather than trust a stale copy."""
    from ..core.atomic import save_model, write_bytes
    from ..core.modelfile import files_record, lite_path
    from ..core.networks import to_tflite
    from ..core.quiet_imports import installed

    if keras_file:
        save_model(model, model_path)
    if installed("tensorflow"):
        write_bytes(lite_path(model_path), to_tflite(model))
        card["files"] = files_record(model_path)
    else:  # trained on another Keras backend (JAX on a GPU machine, say)
        card.pop("files", None)
        print(f"No TF Lite copy of {model_path.name} (the converter needs TensorFlow): run "
              f"--calibrate-confidence --model {model_path} where TensorFlow is installed to write it")
    write_json(card, model_path.with_suffix(".json"))
