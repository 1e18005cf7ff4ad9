"""Running a trained model on the app's few faces a frame.

Keras' ``predict_on_batch`` spends much of each call on work that does not
depend on the faces; the same model converted to TensorFlow Lite (XNNPACK)
classifies one face about 1.7 times faster on a CPU (``bench/speed.py``) with
the same scores to 1e-6. The conversion takes a few seconds, so it is done once
per model file and cached (``~/.cache/fakeblock/lite``, by the file's hash).
"""

import hashlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .atomic import write_bytes
from .errors import first_line
from .runtime import stderr_silenced


def cache_root() -> Path:
    """Where FakeBlock keeps what it can rebuild (``$XDG_CACHE_HOME/fakeblock``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "fakeblock"


class KerasEngine:
    """The Keras model itself."""

    name = "keras"

    def __init__(self, model):
        self.model = model

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_on_batch(batch))


class LiteEngine:
    """The model converted to TensorFlow Lite and run by its interpreter (XNNPACK)."""

    name = "lite"

    def __init__(self, model, model_path: Path):
        import tensorflow as tf

        self.interpreter = self._interpreter(tf, self._flatbuffer(tf, model, Path(model_path)))
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.batch_size = None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) != self.batch_size:  # the interpreter's buffers have a fixed shape
            self.interpreter.resize_tensor_input(self.input, batch.shape)
            with stderr_silenced():  # the XNNPACK delegate announces itself here
                self.interpreter.allocate_tensors()
            self.batch_size = len(batch)
        self.interpreter.set_tensor(self.input, np.ascontiguousarray(batch, np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output).copy()

    @staticmethod
    def _flatbuffer(tf, model, model_path: Path) -> bytes:
        """The converted model: from the cache, or converted now (and cached if possible)."""
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:32]
        cached = cache_root() / "lite" / f"{digest}.tflite"
        if cached.is_file():
            return cached.read_bytes()

        @tf.function(input_signature=[tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)])
        def serve(faces):
            return model(faces, training=False)

        converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], model)
        with stderr_silenced():
            flatbuffer = converter.convert()
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(cached, flatbuffer)
        except OSError:
            pass  # no writable cache: convert again next time
        return flatbuffer

    @staticmethod
    def _interpreter(tf, flatbuffer: bytes):
        try:  # TensorFlow Lite's new home, where installed
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            Interpreter = tf.lite.Interpreter
        with warnings.catch_warnings():  # tf.lite.Interpreter warns that it moved
            warnings.simplefilter("ignore")
            return Interpreter(model_content=flatbuffer, num_threads=os.cpu_count() or 1)


def make_engine(model, model_path, engine: str = "lite"):
    """An engine running ``model`` (loaded from ``model_path``): ``lite`` or ``keras``.

    Where TensorFlow Lite is missing or cannot convert the model, says so in
    one line and runs the Keras model.
    """
    if engine == "lite":
        try:
            return LiteEngine(model, model_path)
        except Exception as e:  # noqa: BLE001 - any converter failure leaves the Keras model usable
            print(f"note: TensorFlow Lite cannot run {Path(model_path).name} ({first_line(e)}); "
                  "running it with Keras (slower)", file=sys.stderr)
    return KerasEngine(model)
