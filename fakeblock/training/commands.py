"""The commands on a saved model: --recalibrate (its BatchNorm statistics) and
--calibrate-confidence (its confidence curves and photo rule)."""

import logging
from pathlib import Path

from ..core.atomic import write_json
from ..core.errors import FakeBlockError
from .data import FaceDataset
from .fitting import CALIBRATED, calibration_faces
from .references import load_votes
from .runs import Splits
from .saving import load_saved, save_model_files
from .targets import targets

log = logging.getLogger(__name__)


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
    log.info(f"Saved {model_path}, its card and its plots")


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
    log.info(f"Calibrated {model_path.name} on {calibration['fitted_on']}; its card and plots rewritten")
