"""The networks: the original project's, and FakeBlock's default.

Every model takes ``(48, 48, 1)`` raw gray pixels (0-255, see
:mod:`fakeblock.core.preprocess`) and outputs class probabilities; the rescaling,
and the augmentation used in training, live inside the model.
"""

import numpy as np

from .preprocess import FACE_SIZE
from .quiet_imports import import_keras

keras = import_keras()
layers = keras.layers

ARCHITECTURES = ("default", "original", "wide")
#: The wide network's widths: twice the default's channels and dense units, four times
#: its weights (about 29 MB saved, over the 10 MB a shipped model may take): a teacher
#: to distil into the default network (``--teacher``), not a model to ship.
WIDE = {"widths": (64, 128, 256, 512), "dense_units": 512}
CLASSIFIER = "emotion"  # the name of every network's output layer

# The training augmentation's ranges (Keras' layer arguments), shared with the
# host-side copy in :mod:`fakeblock.training.hostaugment`.
ROTATION = 0.04    # a fraction of a full turn: +-14.4 degrees
ZOOM = 0.1         # +-10 % of the size
SHIFT = 0.1        # +-10 % of the size, each way
CONTRAST = 0.2     # factor 0.8-1.2 about the face's mean
BRIGHTNESS = 0.15  # +-15 % of the 0-255 range


def augmentation(seed: int = 1337, camera: bool = False) -> keras.Sequential:
    """On-the-fly training augmentation; these layers pass faces through unchanged
    at inference. Flip, small shifts, rotations and zoom, and mild contrast and
    brightness changes for webcam lighting; with ``camera``, also what a webcam
    and a face detector do to a face that FER2013's crops rarely show: a turned
    head (perspective), focus blur, sensor noise (after the rescaling) and a hand or hair over part
    of the face."""
    steps = [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(ROTATION, fill_mode="reflect", seed=seed + 1),
        layers.RandomZoom(ZOOM, fill_mode="reflect", seed=seed + 2),
        layers.RandomTranslation(SHIFT, SHIFT, fill_mode="reflect", seed=seed + 3),
        layers.RandomContrast(CONTRAST, seed=seed + 4),
        layers.RandomBrightness(BRIGHTNESS, value_range=(0, 255), seed=seed + 5),
    ]
    if camera:
        steps += [
            layers.RandomPerspective(factor=0.5, scale=0.15, seed=seed + 6),
            layers.RandomGaussianBlur(factor=0.5, kernel_size=5, sigma=(0.1, 1.2), seed=seed + 7),
            layers.RandomErasing(factor=0.25, scale=(0.02, 0.12), value_range=(0, 255), seed=seed + 9),
        ]
    return keras.Sequential(steps, name="augmentation")


def _inputs(augment: bool, seed: int, camera: bool = False):
    faces = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    x = augmentation(seed, camera)(faces) if augment else faces
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    if augment and camera:  # sensor noise, about 3 gray levels (training only)
        x = layers.GaussianNoise(3.0 / 255, seed=seed + 8, name="sensor_noise")(x)
    return faces, x


def build_original(num_classes: int = 7, augment: bool = False, seed: int = 1337) -> keras.Model:
    """The original project's network, layer for layer."""
    faces, x = _inputs(augment, seed)
    x = layers.Conv2D(64, 5, activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = layers.Conv2D(64, 5, activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = layers.Conv2D(128, 4, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(num_classes, activation="softmax", name=CLASSIFIER)(x)
    return keras.Model(faces, outputs, name="original")


def _conv_block(x, filters: int, convs: int, name: str):
    for i in range(convs):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i + 1}")(x)
        x = layers.ReLU(name=f"{name}_relu{i + 1}")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def build_default(num_classes: int = 7, augment: bool = True, seed: int = 1337, camera: bool = False,
                  widths=(32, 64, 128, 256), dense_units: int = 256, name: str = "default") -> keras.Model:
    """FakeBlock's AlexNet-style network: four Conv/BatchNorm/ReLU x2 + MaxPool
    stages (48 -> 3 pixels), then two dense layers and dropout.

    Dropout sits only before the classifier: dropout that feeds a BatchNorm
    layer slowed training several-fold here (measured), and the augmentation
    and weight decay regularise the convolutions.
    """
    faces, x = _inputs(augment, seed, camera)
    for stage, filters in enumerate(widths, start=1):
        x = _conv_block(x, filters, convs=2, name=f"stage{stage}")
    x = layers.Flatten()(x)
    for i in (1, 2):
        x = layers.Dense(dense_units, use_bias=False, name=f"dense{i}")(x)
        x = layers.BatchNormalization(name=f"dense{i}_bn")(x)
        x = layers.ReLU(name=f"dense{i}_relu")(x)
    x = layers.Dropout(0.4, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name=CLASSIFIER)(x)
    return keras.Model(faces, outputs, name=name)


def build_model(arch: str, num_classes: int = 7, augment: bool = True, seed: int = 1337,
                camera: bool = False) -> keras.Model:
    """Build ``arch`` (one of :data:`ARCHITECTURES`), untrained; ``camera`` adds the
    webcam-like augmentation (the default network only)."""
    if arch == "original":
        return build_original(num_classes=num_classes, augment=augment, seed=seed)
    if arch == "wide":
        return build_default(num_classes=num_classes, augment=augment, seed=seed, camera=camera,
                             name="wide", **WIDE)
    return build_default(num_classes=num_classes, augment=augment, seed=seed, camera=camera)


def load_model(path):
    """Load a ``.keras`` model for inference (Keras safe mode: no pickled code)."""
    from .errors import ModelFileError, first_line
    from .modelfile import check_model_file

    path = check_model_file(path)
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 -- Keras raises many types for a damaged file
        raise ModelFileError(f"{path}: cannot load the model ({first_line(e)})") from None


def batchnorm_layers(model) -> list:
    """The model's BatchNormalization layers."""
    return [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]


def recalibrate_batchnorm(model, faces: np.ndarray, batch_size: int = 256):
    """Measure every BatchNormalization layer's mean and variance on ``faces``
    (a batch from :func:`~fakeblock.core.preprocess.images_to_batch`), fed without
    augmentation, and make them the statistics the model uses at inference.

    Training keeps running averages over *augmented* faces, which differ from
    the plain faces the model then classifies: measuring them afresh adds about
    1 to 1.6 points of FER2013 accuracy (docs/models.md, "BatchNorm statistics"). Returns the number of layers
    recalibrated: 0 for a network without BatchNorm, which is left as it is.
    """
    norms = batchnorm_layers(model)
    if not norms:
        return 0
    # from the rescaling on, past the augmentation; BatchNorm in training mode
    # normalises each batch by its own statistics, as in training
    probe = keras.Model(model.get_layer("rescale").input, [layer.input for layer in norms])
    means = [np.zeros(layer.moving_mean.shape) for layer in norms]
    squares = [np.zeros(layer.moving_mean.shape) for layer in norms]
    for start in range(0, len(faces), batch_size):
        batch = faces[start:start + batch_size]
        share = len(batch) / len(faces)
        for i, x in enumerate(probe(batch, training=True)):
            axes = tuple(range(len(x.shape) - 1))
            means[i] += share * keras.ops.convert_to_numpy(keras.ops.mean(x, axis=axes))
            squares[i] += share * keras.ops.convert_to_numpy(keras.ops.mean(x * x, axis=axes))
    for layer, mean, square in zip(norms, means, squares):
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign(np.maximum(square - mean ** 2, 0).astype("float32"))
    return len(norms)


def to_tflite(model) -> bytes:
    """The model converted to TensorFlow Lite (any batch size): what the app
    runs, without TensorFlow, through LiteRT. Its weights are stored as 8-bit
    integers (dynamic-range quantization; the arithmetic stays float): a
    quarter of the size and about 2.5 times as fast on one face, for scores
    within 0.03 of the Keras model's (the shipped models: the same top class
    on 99.2-99.7 % of PublicTest, accuracy the same or up to 0.06 point higher)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from .quiet_imports import stderr_silenced

    @tf.function(input_signature=[tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)])
    def serve(faces):
        return model(faces, training=False)

    # weights frozen into constants: left as variables, the converter dropped the
    # original network's weights (a 8 KB file scoring NaN)
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with stderr_silenced():
        return converter.convert()
