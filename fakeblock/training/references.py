"""The saved models and data a run names besides its own: --init-from, --teacher and --votes,
checked before any training starts."""

from pathlib import Path

from ..core.errors import FakeBlockError
from .data import FaceDataset


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
