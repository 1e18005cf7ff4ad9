"""What runs a trained model on the app's few faces a frame.

The app runs each model as TensorFlow Lite: every model FakeBlock saves has its
``.tflite`` copy beside the ``.keras`` (its card records both files' hashes).
LiteRT (``ai-edge-litert``, TensorFlow Lite's own small runtime) runs it, so
the app never imports TensorFlow or Keras; where LiteRT has no wheel,
TensorFlow's interpreter does. A ``.keras`` with no current copy beside it (a
model from elsewhere) is converted once, which needs TensorFlow, and the result
is cached (``~/.cache/fakeblock/lite``, by the file's hash). ``--engine keras``
runs the Keras model itself; the copy's weights are 8-bit integers, and the
scores agree to within 0.03 (:func:`fakeblock.core.networks.to_tflite`).
"""

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from ..core.atomic import write_bytes
from ..core.errors import FakeBlockError, MissingInstallError, install_hint
from ..core.modelfile import current_lite_copy, file_sha256
from ..core.quiet_imports import stderr_silenced

log = logging.getLogger(__name__)

_threads = None  # interpreter threads; None: every core


def use_threads(count: int):
    """Run the interpreters made from now on with ``count`` threads (worker
    processes that share the cores, one video each)."""
    global _threads
    _threads = count


def cache_root() -> Path:
    """Where FakeBlock keeps what it can rebuild (``$XDG_CACHE_HOME/fakeblock``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "fakeblock"


class KerasEngine:
    """The Keras model itself (needs TensorFlow and Keras)."""

    name = "keras"

    def __init__(self, model_path: Path):
        from ..core.networks import load_model

        self.model = load_model(model_path)
        self.input_shape = tuple(self.model.input_shape[1:])
        self.outputs = self.model.output_shape[-1]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_on_batch(batch))


class LiteEngine:
    """The model's TensorFlow Lite flatbuffer, run by LiteRT's interpreter
    (TensorFlow's where LiteRT is missing) with XNNPACK on every core."""

    name = "lite"

    def __init__(self, flatbuffer: bytes):
        self.interpreter = lite_interpreter(flatbuffer)
        details = self.interpreter.get_input_details()[0]
        self.input, self.input_shape = details["index"], tuple(int(d) for d in details["shape"][1:])
        output = self.interpreter.get_output_details()[0]
        self.output, self.outputs = output["index"], int(output["shape"][-1])
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


def lite_interpreter(flatbuffer: bytes, keep_tensors: bool = False):
    """A TF Lite interpreter for ``flatbuffer``: LiteRT's, else TensorFlow's, on every core.
    ``keep_tensors``: every layer's output stays readable (without XNNPACK, which
    fuses layers away; slower)."""
    try:  # LiteRT: TensorFlow Lite without TensorFlow
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError:
            raise MissingInstallError("no TensorFlow Lite runtime: install the app's requirements "
                                      "(python -m pip install -r requirements.txt)") from None
        Interpreter, OpResolverType = tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    options = {}
    if keep_tensors:
        options = {"experimental_preserve_all_tensors": True,
                   "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    with warnings.catch_warnings():  # tf.lite.Interpreter warns that it moved to LiteRT
        warnings.simplefilter("ignore")
        return Interpreter(model_content=flatbuffer, num_threads=_threads or os.cpu_count() or 1, **options)


def lite_flatbuffer(model_path: Path, card: dict | None) -> bytes:
    """The model as TF Lite: its shipped copy, else a cached conversion, else
    converted now (TensorFlow needed) and cached where the cache is writable."""
    shipped = current_lite_copy(model_path, card)
    if shipped:
        return shipped.read_bytes()
    cached = cache_root() / "lite" / f"{file_sha256(model_path)[:32]}.tflite"
    if cached.is_file():
        return cached.read_bytes()
    try:
        from ..core.networks import load_model, to_tflite
    except ImportError:
        raise MissingInstallError(f"{model_path}: no TF Lite copy beside it ({model_path.stem}.tflite, "
                                  f"which training writes); converting it needs TensorFlow: {install_hint('train')}"
                             ) from None
    flatbuffer = to_tflite(load_model(model_path))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(cached, flatbuffer)
    except (OSError, FakeBlockError):
        pass  # no writable cache: convert again next time
    return flatbuffer


def make_engine(model_path, card: dict | None, engine: str = "lite"):
    """An engine for the model at ``model_path`` (its ``card`` as read): ``lite`` or ``keras``.

    Where TensorFlow Lite cannot run the model, says so in one line and runs
    the Keras model.
    """
    model_path = Path(model_path)
    if engine == "lite":
        try:
            return LiteEngine(lite_flatbuffer(model_path, card))
        except FakeBlockError:
            raise
        except Exception as e:  # noqa: BLE001 - any converter failure leaves the Keras model usable
            from ..core.errors import first_line
            log.warning(f"note: TensorFlow Lite cannot run {model_path.name} ({first_line(e)}); "
                        "running it with Keras (slower)")
    try:
        return KerasEngine(model_path)
    except ImportError:
        raise MissingInstallError(f"--engine keras needs TensorFlow and Keras: {install_hint('train')}") from None
