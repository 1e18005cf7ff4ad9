"""Model files and their cards: where the shipped models are, what a card
says (classes, calibration), and the checks that run before any model loads."""

import hashlib
import json
from pathlib import Path

from .emotions import FER2013, FERPLUS
from .errors import FakeBlockError

#: The shipped models: the repository's top-level ``model/``, or, where FakeBlock
#: was installed with pip, the copy inside the package.
MODEL_DIR = next((d for d in (Path(__file__).resolve().parents[1] / "model",
                              Path(__file__).resolve().parents[2] / "model") if d.is_dir()),
                 Path(__file__).resolve().parents[2] / "model")

#: The model WebCam.py uses unless told otherwise: FER2013's labels blended with
#: the FER+ votes, the best on real photos both overall and class by class
#: (balanced accuracy; README, "The models").
DEFAULT_MODEL = MODEL_DIR / "fer2013-joint.keras"


def read_card(model_path) -> dict | None:
    """The model card (``<model>.json``) beside a model, or None if it has none."""
    card = Path(model_path).with_suffix(".json")
    if not card.is_file():
        return None
    try:
        data = json.loads(card.read_text())
        data["classes"] = tuple(data["classes"])
    except (ValueError, KeyError, TypeError):
        raise FakeBlockError(f"{card}: not a valid model card (no 'classes' list)") from None
    return data


def model_classes(model_path: Path, n_outputs: int, card: dict | None) -> tuple:
    """The class names of a model: from its ``card`` (as :func:`read_card` gives it)
    when it has one, else FER2013's seven or FER+'s eight by the number of outputs."""
    if card is not None:
        classes = card["classes"]
        if len(classes) == n_outputs:
            return classes
        raise FakeBlockError(f"{Path(model_path).with_suffix('.json')}: lists {len(classes)} classes "
                             f"but the model has {n_outputs} outputs")
    for names in (FER2013, FERPLUS):
        if len(names) == n_outputs:
            return names
    raise FakeBlockError(f"{model_path}: {n_outputs} outputs, and no model card names them")


def check_model_file(path) -> Path:
    """Fail early, before TensorFlow loads, on a model path that cannot work."""
    path = Path(path)
    if not path.is_file():
        raise FakeBlockError(f"{path}: no such model. Train one with 'python3 BuildTrainTestCNN.py' "
                             "or pass --model PATH")
    if path.suffix != ".keras":
        raise FakeBlockError(f"{path}: not a .keras model file")
    return path


def default_name(labels: str, arch: str, recipe: str) -> str:
    """Model file stem: ``fer2013`` for the default network, else e.g. ``fer2013-original-original``."""
    return labels if (arch, recipe) == ("default", "improved") else f"{labels}-{arch}-{recipe}"


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes (model files in their card, data files in the cache key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lite_path(model_path) -> Path:
    """Where a model's TensorFlow Lite copy lives: ``<model>.tflite`` beside the ``.keras``."""
    return Path(model_path).with_suffix(".tflite")


def files_record(model_path) -> dict:
    """The card's record of a model's two files, by their hashes."""
    return {"keras_sha256": file_sha256(model_path), "tflite_sha256": file_sha256(lite_path(model_path))}


def current_lite_copy(model_path, card: dict | None) -> Path | None:
    """The ``.tflite`` beside a model when its card says it was made from this very
    ``.keras`` (both hashes match); None otherwise (missing, or stale)."""
    lite, recorded = lite_path(model_path), (card or {}).get("files") or {}
    if not lite.is_file() or not recorded:
        return None
    return lite if files_record(model_path) == recorded else None
