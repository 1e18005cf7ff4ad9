"""Model files and their cards: where the shipped models are, what a card
says (classes, calibration), and the checks that run before any model loads."""

import hashlib
import json
from pathlib import Path

import numpy as np

from .emotions import FER2013, FERPLUS
from .errors import ModelFileError

#: The shipped models: the repository's top-level ``model/``, or, where FakeBlock
#: was installed with pip, the copy inside the package.
MODEL_DIR = next((d for d in (Path(__file__).resolve().parents[1] / "model",
                              Path(__file__).resolve().parents[2] / "model") if d.is_dir()),
                 Path(__file__).resolve().parents[2] / "model")

#: The model WebCam.py uses unless told otherwise: FER2013's labels blended with
#: the FER+ votes, the best on real photos both overall and class by class
#: (balanced accuracy; docs/app.md, "Choosing the app's model").
DEFAULT_MODEL = MODEL_DIR / "fer2013-joint.keras"


def read_card(model_path) -> dict | None:
    """The model card (``<model>.json``) beside a model, or None if it has none."""
    card = Path(model_path).with_suffix(".json")
    if not card.is_file():
        return None
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
        if not isinstance(data["classes"], list):
            raise TypeError("'classes' is not a list")
        data["classes"] = tuple(data["classes"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ModelFileError(f"{card}: not a valid model card (no 'classes' list)") from None
    check_card(data, card)
    return data


def check_card(card: dict, where) -> None:
    """Refuse a model card whose classes or calibration curves cannot be used:
    class names unique emotion names FakeBlock knows (FER2013's, and FER+'s
    contempt); each curve two lists of equal length
    of finite numbers from 0 to 1, both increasing (never falling)."""
    classes = card["classes"]
    if not classes or not all(isinstance(c, str) and c.strip() for c in classes):
        raise ModelFileError(f"{where}: 'classes' must be a list of class names")
    if len(set(classes)) != len(classes):
        raise ModelFileError(f"{where}: a class is named twice in 'classes'")
    unknown = [c for c in classes if c not in FERPLUS]
    if unknown:
        raise ModelFileError(f"{where}: {unknown[0]!r} in 'classes' is not one of the emotions FakeBlock "
                             f"knows ({', '.join(FERPLUS)})")
    calibration = card.get("calibration") or {}
    if not isinstance(calibration, dict):
        raise ModelFileError(f"{where}: 'calibration' is not a set of curves")
    rule = card.get("photo_rule")
    if rule is not None:
        try:
            weights = np.asarray(rule["class_weights"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"{where}: the photo rule's 'class_weights' is not a list of numbers") from None
        if weights.shape != (len(classes),) or not (np.isfinite(weights).all() and (weights > 0).all()):
            raise ModelFileError(f"{where}: the photo rule needs one finite, positive weight per class")
    for kind in ("plain", "tta", "photo"):
        curve = calibration.get(kind)
        if curve is None:
            continue
        try:
            points = [np.asarray(curve[key], dtype=float) for key in ("top_score", "calibrated")]
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"{where}: the '{kind}' calibration curve is not two lists of numbers") from None
        if any(p.ndim != 1 for p in points) or len(points[0]) != len(points[1]) or len(points[0]) < 2:
            raise ModelFileError(f"{where}: the '{kind}' calibration curve's lists differ in length")
        if not all(np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all() and (np.diff(p) >= 0).all()
                   for p in points):
            raise ModelFileError(f"{where}: the '{kind}' calibration curve must rise from 0 to 1 "
                                 "through finite numbers")


def model_classes(model_path: Path, n_outputs: int, card: dict | None) -> tuple:
    """The class names of a model: from its ``card`` (as :func:`read_card` gives it)
    when it has one, else FER2013's seven or FER+'s eight by the number of outputs."""
    if card is not None:
        classes = card["classes"]
        if len(classes) == n_outputs:
            return classes
        raise ModelFileError(f"{Path(model_path).with_suffix('.json')}: lists {len(classes)} classes "
                             f"but the model has {n_outputs} outputs")
    for names in (FER2013, FERPLUS):
        if len(names) == n_outputs:
            return names
    raise ModelFileError(f"{model_path}: {n_outputs} outputs, and no model card names them")


def shipped_models() -> list[str]:
    """The names of the models that ship (``model/*.keras``), the default first."""
    names = sorted(p.stem for p in MODEL_DIR.glob("*.keras"))
    return sorted(names, key=lambda name: name != DEFAULT_MODEL.stem)


def resolve_model(spec) -> Path:
    """A model path, or a shipped model's name (``ferplus``) as its path in ``model/``."""
    path = Path(spec)
    if path.suffix or len(path.parts) > 1 or path.exists():
        return path
    named = MODEL_DIR / f"{path.name}.keras"
    return named if named.is_file() else path


def check_model_file(spec) -> Path:
    """The model's path (a shipped model may be named: ``ferplus``); fails early,
    before TensorFlow loads, on one that cannot work."""
    path = resolve_model(spec)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model; the shipped ones are {', '.join(shipped_models())} "
                             "(or pass a .keras path; train one with BuildTrainTestCNN.py)")
    if path.suffix != ".keras":
        raise ModelFileError(f"{path}: not a .keras model file")
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
