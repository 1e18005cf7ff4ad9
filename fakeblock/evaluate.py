"""Metrics, reports and plots for a trained model."""

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from .atomic import save_figure, write_text
from .preprocess import images_to_batch


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
             f"  {'class':<10}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, m in metrics["per_class"].items():
        lines.append(f"  {name:<10}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>9}")
    return "\n".join(lines)


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


def write_json(data: dict, path: Path):
    """Write a JSON report atomically."""
    write_text(path, json.dumps(data, indent=2))


def evaluate_model(model, dataset, tta: bool = False) -> dict:
    """:func:`classification_metrics` of ``model`` on a :class:`~fakeblock.data.FaceDataset`.

    FER+ data (with votes) is scored against the majority vote, ties left out,
    as in the FER+ paper.
    """
    if dataset.votes is not None:
        top = dataset.votes.max(axis=1, keepdims=True)
        dataset = dataset.take((dataset.votes == top).sum(axis=1) == 1)
    predicted = predict_scores(model, dataset.images, tta=tta).argmax(axis=1)
    return classification_metrics(dataset.labels, predicted, dataset.classes)


def saved_model_path(args) -> Path:
    """The saved model a command works on: ``--model``, else ``OUT/NAME.keras``; checked to exist."""
    from .classify import check_model_file
    from .train import default_name

    default = Path(args.out) / f"{args.name or default_name(args.labels, args.arch, args.recipe)}.keras"
    return check_model_file(args.model or default)


def check_model_classes(model, model_path: Path, dataset, labels: str):
    """Fail when the model scores another number of classes than ``dataset`` has."""
    from .errors import FakeBlockError

    n_outputs = model.output_shape[-1]
    if n_outputs != len(dataset.classes):
        raise FakeBlockError(f"{model_path}: the model has {n_outputs} classes but the "
                             f"{labels} data has {len(dataset.classes)}")


def plot_validation_confusion(metrics: dict, model_path: Path):
    """The validation confusion matrix, as ``<model>-confusion.png`` beside the model."""
    plot_confusion(metrics["validation"], model_path.with_name(f"{model_path.stem}-confusion.png"),
                   f"{model_path.name}: validation confusion (row-normalised)")


def evaluate_saved(args):
    """The ``--evaluate`` command: print (and optionally write) a saved model's report."""
    from .data import load_training_data
    from .errors import FakeBlockError

    model_path = saved_model_path(args)
    dataset = load_training_data(args.data, args.labels, args.skip_bad_rows, args.cache_dir)
    sizes = dataset.split_sizes()
    usage = args.usage or ("PrivateTest" if sizes.get("PrivateTest") else "PublicTest")
    subset = dataset.split(usage)
    if len(subset) == 0:
        raise FakeBlockError(f"{args.data}: no {usage} rows to evaluate on "
                             f"(rows per split: {sizes})")
    from .models import load_model

    model = load_model(model_path)
    check_model_classes(model, model_path, dataset, args.labels)
    metrics = evaluate_model(model, subset, tta=args.tta)
    print(format_report(metrics, f"{model_path.name} on {usage}{' with TTA' if args.tta else ''}"))
    if args.report_json:
        write_json(metrics, args.report_json)
        print(f"Wrote {args.report_json}")
