"""Importing Keras/TensorFlow without their C++ start-up noise on the terminal."""

import contextlib
import importlib.util
import os
import sys

#: What training adds to the app's packages (requirements-train.txt), by import name.
TRAINING_PACKAGES = {"keras": "keras", "sklearn": "scikit-learn"}


@contextlib.contextmanager
def stderr_silenced():
    """Point file descriptor 2 at /dev/null (C++ logging bypasses sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Import and return ``keras`` on the TensorFlow backend (unless KERAS_BACKEND
    says otherwise), with TensorFlow's log messages turned off."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", keras_backend())
    with stderr_silenced():
        import keras
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            tf.get_logger().setLevel("ERROR")
            tf.constant(0)  # first op: its device-setup messages go to /dev/null too
    import absl.logging
    absl.logging.set_verbosity(absl.logging.ERROR)
    return keras


def silence_opencv():
    """Turn off OpenCV's and its FFmpeg's own log lines (camera probing, broken
    videos): the app reports every problem itself, in one line."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when FFmpeg starts
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def keras_backend() -> str:
    """The Keras backend training runs on: ``KERAS_BACKEND`` (e.g. ``jax`` on a GPU
    machine without TensorFlow), else TensorFlow."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it."""
    return importlib.util.find_spec(module) is not None


def missing_training_packages() -> list:
    """The packages training needs that are not installed (pip names): Keras,
    scikit-learn and the Keras backend's own package."""
    needed = {keras_backend(): keras_backend(), **TRAINING_PACKAGES}
    return [name for module, name in needed.items() if not installed(module)]
