"""Metrics, reports and plots for a trained model."""

import logging
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from ..core.atomic import save_figure, write_json
from ..core.calibration import LEVELS, agreement, calibrate, fit_confidence_curve, reliability, reweigh
from ..core.preprocess import images_to_batch
from .data import ferplus_votes_for

log = logging.getLogger(__name__)


def predict_scores(model, images: np.ndarray, tta: bool = False, batch_size: int = 512) -> np.ndarray:
    """Class probabilities for dataset faces ``(n, 48, 48)`` uint8.

    ``tta``: average with the prediction for the horizontally flipped face.
    """
    batch = images_to_batch(images)
    scores = model.predict(batch, batch_size=batch_size, verbose=0)
    if tta:
        scores = (scores + model.predict(batch[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2
    return scores


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion
    matrix (rows: true class, in ``classes`` order), as plain JSON-ready values."""
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "n": len(y_true),
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                             "f1": float(f1[i]), "support": int(support[i])}
                      for i, name in enumerate(classes)},
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def format_report(metrics: dict, title: str) -> str:
    """A plain-text report: headline figures, then one line per class."""
    lines = [(f"{title}: accuracy {metrics['accuracy']:.2%}, macro-F1 {metrics['macro_f1']:.3f} "
              f"on {metrics['n']} faces"),
             (f"  calibration: ECE {metrics['ece']:.3f}, mean confidence {metrics['mean_confidence']:.3f}"
              + (" (against the annotators' vote share)" if metrics.get("calibrated_against") == "vote share"
                 else "") if "ece" in metrics else ""),
             f"  {'class':<10}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, m in metrics["per_class"].items():
        lines.append(f"  {name:<10}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>9}")
    return "\n".join(line for line in lines if line)


def plot_confusion(metrics: dict, path: Path, title: str):
    """Save the row-normalised confusion matrix as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = list(metrics["per_class"])
    counts = np.array(metrics["confusion"], float)
    share = counts / np.maximum(1, counts.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{share[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    save_figure(fig, path)


def plot_history(history_csv: Path, path: Path, title: str):
    """Save loss and accuracy per epoch (training and validation) as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    history = pd.read_csv(history_csv)
    epochs = history["epoch"] + 1
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.plot(epochs, history[metric], label="training")
        ax.plot(epochs, history[f"val_{metric}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def majority_rows(dataset) -> np.ndarray:
    """Which faces count for accuracy: FER+ data (with votes) the faces whose
    majority vote is not tied, as the FER+ paper scores; other data all."""
    if dataset.votes is None:
        return np.ones(len(dataset), bool)
    top = dataset.votes.max(axis=1, keepdims=True)
    return (dataset.votes == top).sum(axis=1) == 1


def evaluate_model(model, dataset, tta: bool = False, curve: dict | None = None,
                   votes: np.ndarray | None = None) -> dict:
    """:func:`classification_metrics` of ``model`` on a :class:`~fakeblock.training.data.FaceDataset`,
    and the calibration of its scores after ``curve`` (:mod:`fakeblock.core.calibration`):
    ``ece``, ``mean_confidence`` and the ``reliability`` bins. FER+ data: accuracy
    against the majority vote (:func:`majority_rows`). Calibration is measured
    against the annotators' vote share where there are votes (FER+ data's own,
    or ``votes`` joined onto FER2013 faces), else against the label."""
    votes = dataset.votes if votes is None else votes
    scores = calibrate(predict_scores(model, dataset.images, tta=tta), curve)
    calibration = reliability(scores, dataset.labels, votes=votes)
    counted = majority_rows(dataset)
    return {**classification_metrics(dataset.labels[counted], scores[counted].argmax(axis=1), dataset.classes),
            "ece": calibration["ece"], "mean_confidence": calibration["mean_confidence"],
            "calibrated_against": "label" if votes is None else "vote share",
            "reliability": calibration["bins"]}


def fit_calibration(model, dataset, votes: np.ndarray | None = None, photo_rule: dict | None = None) -> dict:
    """Fit the model's calibration curves (plain, ``--tta``, and the
    ``photo_rule``'s where given) on ``dataset``, faces it did not train on,
    against the share of annotators who chose the top class where there are
    votes (as :func:`evaluate_model`), else against the label; returns the
    model card's ``calibration`` entry."""
    votes = dataset.votes if votes is None else votes
    against = "the label" if votes is None else "the annotators' vote share"
    fitted = {"method": (f"isotonic regression of the top score against {against}, in {LEVELS} levels "
                         "(scaling-binning; fakeblock.core.calibration)"),
              "fitted_on": f"validation, {len(dataset)} faces"}
    for key, tta in (("plain", False), ("tta", True)):
        scores = predict_scores(model, dataset.images, tta=tta)
        fitted[key] = fit_confidence_curve(scores, agreement(scores, dataset.labels, votes))
    if photo_rule:
        scores = reweigh(predict_scores(model, dataset.images, tta=True), photo_rule["class_weights"])
        fitted["photo"] = fit_confidence_curve(scores, agreement(scores, dataset.labels, votes))
    return fitted


def votes_on(faces, ferplus) -> np.ndarray | None:
    """The FER+ votes on ``faces`` where ``ferplus`` data is given, else None."""
    return None if ferplus is None else ferplus_votes_for(faces, ferplus)


def calibrate_and_evaluate(model, model_name: str, validation, test=None, ferplus=None,
                           photo_rule: dict | None = None) -> tuple:
    """Fit the model's calibration on ``validation`` (:func:`fit_calibration`),
    then evaluate it, calibrated, on ``validation`` and ``test`` (where given),
    printing each report. ``ferplus``: FER+ data holding the same faces, whose
    votes the confidence is fitted and measured against (a model that learned
    from them). Returns the card's ``calibration`` and ``metrics``."""
    splits = {name: split for name, split in (("validation", validation), ("test", test)) if split is not None}
    votes = {name: votes_on(split, ferplus) for name, split in splits.items()}
    calibration = fit_calibration(model, validation, votes["validation"], photo_rule)
    metrics = {name: evaluate_model(model, split, curve=calibration["plain"], votes=votes[name])
               for name, split in splits.items()}
    for name, split_metrics in metrics.items():
        log.info(format_report(split_metrics, f"{model_name} on {name}"))
    return calibration, metrics


def plot_reliability(metrics: dict, path: Path, title: str):
    """Save the reliability diagram (accuracy against confidence, per bin) as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = metrics["reliability"]
    edges = np.linspace(0, 1, len(bins["faces"]) + 1)
    filled = np.array(bins["faces"]) > 0
    fig, ax = plt.subplots(figsize=(5.2, 5))
    ax.bar(edges[:-1][filled], np.array(bins["accuracy"])[filled], width=1 / len(bins["faces"]),
           align="edge", edgecolor="black", alpha=0.8, label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set_xlabel("confidence (top score)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    ax.set_title(f"{title}\nECE {metrics['ece']:.3f}, mean confidence {metrics['mean_confidence']:.3f}",
                 fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def check_model_classes(model, model_path: Path, dataset):
    """Fail when the model scores another number of classes than ``dataset`` has."""
    from ..core.errors import FakeBlockError

    n_outputs = model.output_shape[-1]
    if n_outputs != len(dataset.classes):
        raise FakeBlockError(f"{model_path}: the model has {n_outputs} classes but the data "
                             f"({Path(dataset.source).name}) has {len(dataset.classes)}")


def plot_validation_confusion(metrics: dict, model_path: Path):
    """The validation confusion matrix and reliability diagram, as
    ``<model>-confusion.png`` and ``<model>-reliability.png`` beside the model."""
    plot_confusion(metrics["validation"], model_path.with_name(f"{model_path.stem}-confusion.png"),
                   f"{model_path.name}: validation confusion (row-normalised)")
    plot_reliability(metrics["validation"], model_path.with_name(f"{model_path.stem}-reliability.png"),
                     f"{model_path.name}: validation (the faces calibrated on)")


def evaluate_saved(model_path: Path, dataset, usage: str | None = None, tta: bool = False,
                   report_json=None, ferplus=None) -> dict:
    """The ``--evaluate`` command: a saved model's report on one split of
    ``dataset`` (default PrivateTest where present, else PublicTest), printed,
    and written as JSON with its reliability diagram where ``report_json`` is given.
    ``ferplus``: measure the confidence against these FER+ votes on the same faces."""
    from ..core.calibration import card_curve
    from ..core.errors import FakeBlockError
    from ..core.modelfile import read_card
    from ..core.networks import load_model

    sizes = dataset.split_sizes()
    usage = usage or ("PrivateTest" if sizes.get("PrivateTest") else "PublicTest")
    subset = dataset.split(usage)
    if len(subset) == 0:
        raise FakeBlockError(f"{dataset.source}: no {usage} rows to evaluate on (rows per split: {sizes})")
    model = load_model(model_path)
    check_model_classes(model, model_path, dataset)
    metrics = evaluate_model(model, subset, tta=tta, curve=card_curve(read_card(model_path), tta),
                             votes=votes_on(subset, ferplus))
    title = f"{model_path.name} on {usage}{' with TTA' if tta else ''}"
    log.info(format_report(metrics, title))
    if report_json:
        report = Path(report_json)
        diagram = report.with_name(f"{report.stem}-reliability.png")
        write_json(metrics, report)
        plot_reliability(metrics, diagram, title)
        log.info(f"Wrote {report} and {diagram}")
    return metrics
