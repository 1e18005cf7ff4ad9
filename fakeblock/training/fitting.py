"""Fitting a network: the optimizer, schedule and loss of its recipe, the callbacks that
checkpoint, average and recalibrate it, and Keras' fit. Keras is imported only once the data
has loaded."""

import json
import logging
import sys

import numpy as np

from ..core.errors import FakeBlockError
from ..core.preprocess import images_to_batch
from .data import FaceDataset
from .references import copy_weights
from .runs import RunFolder, TrainConfig
from .targets import distilled_targets, targets, voted_targets

log = logging.getLogger(__name__)

EMA_MOMENTUM = 0.999  # --ema: the average spans about 1,000 steps (2 epochs of FER2013)


CALIBRATION_FACES = 4096  # training faces, un-augmented, that measure the BatchNorm statistics


CALIBRATED = f"measured on {CALIBRATION_FACES} un-augmented training faces"  # (the model card says so)


def calibration_faces(train: FaceDataset, seed: int) -> np.ndarray:
    """The seeded sample of training faces that :func:`~fakeblock.core.networks.recalibrate_batchnorm`
    measures the BatchNorm statistics on, as a model input batch."""
    rows = np.random.default_rng(seed).permutation(len(train))[:CALIBRATION_FACES]
    return images_to_batch(train.images[np.sort(rows)])


def compile_model(model, config: TrainConfig, steps_per_epoch: int, class_shares: np.ndarray | None = None):
    """Attach the recipe's optimizer, learning-rate schedule and loss.

    With the recipe's ``logit_adjustment`` (tau), the loss is
    :class:`~fakeblock.training.losses.LogitAdjustedCrossentropy` on
    ``class_shares``, the training targets' means.
    """
    import keras

    r = config.recipe_settings
    ema = {"use_ema": r.get("ema", False), "ema_momentum": EMA_MOMENTUM}
    if r["optimizer"] == "sgd":
        optimizer = keras.optimizers.SGD(r["learning_rate"], momentum=r["momentum"], **ema)
    else:
        total = max(1, config.epochs * steps_per_epoch)
        warmup = min(total // 10, 3 * steps_per_epoch)
        schedule = keras.optimizers.schedules.CosineDecay(
            r["learning_rate"] / 10, decay_steps=total - warmup, alpha=0.01,
            warmup_target=r["learning_rate"], warmup_steps=warmup)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=r["weight_decay"], **ema)
    if r["loss"] == "mse":
        loss = keras.losses.MeanSquaredError()
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=r["label_smoothing"])
        if r.get("logit_adjustment"):
            from .losses import LogitAdjustedCrossentropy
            loss = LogitAdjustedCrossentropy(class_shares, r["logit_adjustment"], r["label_smoothing"])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def fit(config: TrainConfig, train: FaceDataset, val: FaceDataset, run: RunFolder) -> dict:
    """Train (or continue training) ``config`` on ``train``, validating on ``val``.

    Returns the best epoch's record, ``{"epoch": n, "val_accuracy": a}``; the
    best model itself is in ``run.best``.
    """
    from ..core.quiet_imports import import_keras
    keras = import_keras()
    from ..core.networks import build_model
    from .callbacks import AtomicBestCheckpoint, BatchNormRecalibration, EpochTimer

    keras.utils.set_random_seed(config.seed)
    on_host = config.recipe_settings.get("host_augmentation", False)
    model = build_model(config.arch, len(config.classes), augment=config.recipe_settings["augment"] and not on_host,
                        seed=config.seed, camera=config.recipe_settings.get("camera", False))
    if config.init_from:
        copy_weights(config.init_from["path"], model)
    callbacks = [
        EpochTimer(),
        # with --ema: validate, checkpoint and keep the moving average of the weights
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.recipe_settings.get("ema") else []),
        # augmented training faces make BatchNorm's running statistics wrong for plain ones
        *([BatchNormRecalibration(calibration_faces(train, config.seed))]
          if config.recipe_settings["augment"] else []),
        keras.callbacks.BackupAndRestore(str(run.backup), save_freq="epoch", delete_checkpoint=False),
        AtomicBestCheckpoint(run.best, run.best_record),
        keras.callbacks.CSVLogger(str(run.log), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    train_targets = targets(train, config.label_mode)
    if config.teachers:
        log.info(f"Distilling from {', '.join(t['model'] for t in config.teachers)}")
        train_targets = distilled_targets(train_targets, train.images, config.teachers,
                                          config.recipe_settings["teacher_weight"], config.classes)
    if config.votes:
        train_targets = voted_targets(train_targets, train, config.votes)
    batch_size = config.recipe_settings["batch_size"]
    compile_model(model, config, steps_per_epoch=int(np.ceil(len(train) / batch_size)),
                  class_shares=targets(train, config.label_mode).mean(axis=0))
    if on_host:
        from .hostaugment import AugmentedFaces
        augmented = AugmentedFaces(images_to_batch(train.images), train_targets, batch_size, config.seed)
        training = {"x": augmented}
        callbacks.insert(0, augmented.follow_epochs())
    else:
        training = {"x": images_to_batch(train.images), "y": train_targets, "batch_size": batch_size,
                    "shuffle": True}
    model.fit(**training, validation_data=(images_to_batch(val.images), targets(val, config.label_mode)),
              epochs=config.epochs, callbacks=callbacks, verbose=1 if sys.stdout.isatty() else 2)
    if not run.best_record.exists():
        raise FakeBlockError(f"training in {run.root} produced no usable epoch (loss diverged?)")
    return json.loads(run.best_record.read_text())
