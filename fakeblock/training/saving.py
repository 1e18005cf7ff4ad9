"""A finished model's files: the model, its TF Lite copy and its card (what it is, how it was
made, its metrics and calibration), each written atomically, the card last."""

import logging
from pathlib import Path

from ..core.atomic import write_json
from .data import FaceDataset
from .fitting import CALIBRATED
from .references import load_votes
from .runs import RunFolder, Splits, TrainConfig

log = logging.getLogger(__name__)


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
    log.info(f"Saved {model_path}, its card and plots")


def load_saved(model_path: Path, dataset: FaceDataset) -> tuple:
    """A saved model and its card (a bare one if it has none), checked to score
    ``dataset``'s classes."""
    from ..core.modelfile import read_card
    from ..core.networks import load_model
    from .evaluate import check_model_classes

    model = load_model(model_path)
    check_model_classes(model, model_path, dataset)
    return model, read_card(model_path) or {"model": model_path.name}


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
        log.warning(f"No TF Lite copy of {model_path.name} (the converter needs TensorFlow): run "
                    f"--calibrate-confidence --model {model_path} where TensorFlow is installed to write it")
    write_json(card, model_path.with_suffix(".json"))
