"""Train, evaluate and save FakeBlock's emotion classifier on FER2013.

Edit the defaults below, or override any of them with flags (--help lists them).

    python BuildTrainTestCNN.py                       # train the default model
    python BuildTrainTestCNN.py --resume              # continue an interrupted run
    python BuildTrainTestCNN.py --export              # save its best epoch so far
    python BuildTrainTestCNN.py --evaluate            # evaluate model/fer2013.keras
    python BuildTrainTestCNN.py --recalibrate         # fix an older model's BatchNorm statistics
    python BuildTrainTestCNN.py --calibrate-confidence  # calibrate a saved model's confidence
"""

import argparse
import re
import sys
from pathlib import Path

# ---------------------------------------------------------------- defaults
DATA = "data/fer2013.csv"          # Kaggle CSV (plain or .gz), or an image folder
LABELS = "fer2013"                 # fer2013 (7 classes) | ferplus (8, FER+ votes)
LABEL_MODE = "probability"         # FER+ only: majority | probability
ARCH = "default"                   # default | original | wide (a teacher, too big to ship)
RECIPE = None                      # original | improved (None: the arch's own)
EPOCHS = 40
SPLIT = "usage"                    # usage (the Usage column) | random (seeded 80/20)
SEED = 1337
OUT = "model"                      # where the finished model, card and plots go
WORK_DIR = "~/.cache/fakeblock/runs"  # checkpoints of runs in progress
CACHE_DIR = "data/cache"           # parsed datasets


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--data", default=DATA, help="FER2013 CSV, image folder, or FER+ folder root")
    data.add_argument("--labels", choices=("fer2013", "ferplus"), default=LABELS,
                      help="label set: FER2013's single labels or FER+ annotator votes")
    data.add_argument("--label-mode", choices=("majority", "probability"), default=LABEL_MODE,
                      help="FER+ targets: the majority emotion or the vote distribution")
    network = p.add_argument_group("network and recipe")
    network.add_argument("--arch", choices=("default", "original", "wide"), default=ARCH,
                         help="network (wide: a teacher for --teacher, too big to ship)")
    network.add_argument("--recipe", choices=("original", "improved"), default=RECIPE,
                         help="training recipe (default: 'original' for the original network, "
                              "else 'improved')")
    network.add_argument("--epochs", type=int, default=EPOCHS, help="epochs to train")
    network.add_argument("--init-from", metavar="MODEL",
                         help="start from this saved model's weights (same network) instead of from "
                              "scratch: a further schedule on top of a finished run, or, from a model "
                              "of other classes, every layer but the classifier (e.g. FER+ to FER2013)")
    network.add_argument("--learning-rate", type=float,
                         help="peak learning rate (default: the recipe's; lower it with --init-from)")
    targets = p.add_argument_group("what the network learns from besides the labels")
    targets.add_argument("--teacher", metavar="MODEL", nargs="+", default=[],
                         help="distil: blend each training face's label with these saved models' "
                              "mean scores for it (same classes); an ensemble taught to one network")
    targets.add_argument("--teacher-weight", type=float, default=0.5,
                         help="share of the training targets that comes from --teacher")
    targets.add_argument("--votes", metavar="FERPLUS_DIR",
                         help="blend each FER2013 training label with the FER+ annotators' votes on the "
                              "same face (a FER+ folder; faces joined by their pixels); the model's "
                              "confidence is then calibrated against their vote share (also with "
                              "--evaluate, --recalibrate, --calibrate-confidence)")
    targets.add_argument("--votes-weight", type=float, default=0.5,
                         help="share of the training targets that comes from --votes")
    network.add_argument("--ema", action="store_true",
                         help="keep, validate and save the moving average of the weights (Polyak averaging)")
    augment = p.add_argument_group("augmentation and loss")
    augment.add_argument("--logit-adjustment", type=float, default=0.0, metavar="TAU",
                         help="train on scores reweighted by the class shares to this power (1: fully "
                              "balanced), so rare classes are not crowded out; 0: off")
    augment.add_argument("--camera-augmentation", action="store_true",
                         help="also train on faces as a webcam shows them: turned heads, blur, sensor "
                              "noise, part of the face covered")
    augment.add_argument("--host-augmentation", action="store_true",
                         help="augment the training faces on the CPU with OpenCV instead of with Keras "
                              "layers inside the model: for a GPU under KERAS_BACKEND=jax, where those "
                              "layers are slow (docs/models.md, 'Training on a GPU')")
    data.add_argument("--split", choices=("usage", "random"), default=SPLIT,
                      help="train/validation split: the Usage column, or a seeded random 80/20")
    data.add_argument("--seed", type=int, default=SEED, help="random seed")
    data.add_argument("--skip-bad-rows", action="store_true",
                      help="drop malformed rows (and report them) instead of stopping")
    files = p.add_argument_group("where things go")
    files.add_argument("--out", default=OUT, help="folder for the trained model, card and plots")
    files.add_argument("--name", help="model file name without .keras (default from labels/arch/recipe)")
    files.add_argument("--work-dir", default=WORK_DIR, help="where runs keep their checkpoints")
    files.add_argument("--cache-dir", default=CACHE_DIR, help="where parsed datasets are cached")
    run = p.add_argument_group("a run in progress").add_mutually_exclusive_group()
    run.add_argument("--resume", action="store_true", help="continue the interrupted run")
    run.add_argument("--fresh", action="store_true", help="discard an interrupted run, start over")
    run.add_argument("--export", action="store_true",
                     help="save the best epoch so far of a running or interrupted run into --out")
    on_saved = p.add_argument_group("a saved model")
    saved = on_saved.add_mutually_exclusive_group()
    saved.add_argument("--evaluate", action="store_true", help="only evaluate a saved model")
    saved.add_argument("--recalibrate", action="store_true",
                       help="measure a saved model's BatchNorm statistics on un-augmented Training "
                            "faces (as training now does), re-evaluate it, and rewrite it, its card "
                            "and its confusion plot")
    saved.add_argument("--calibrate-confidence", action="store_true",
                       help="fit a saved model's confidence calibration on the validation faces "
                            "(so that its scores mean what they say) and rewrite its card")
    on_saved.add_argument("--photo-rule", type=float, metavar="TAU",
                          help="with --calibrate-confidence: still photos are classified with the mirrored face "
                               "too, their scores divided by the training class shares to the power TAU "
                               "(0: no photo rule; default: keep the card's)")
    on_saved.add_argument("--model", help="model to evaluate or recalibrate (default: OUT/NAME.keras)")
    on_saved.add_argument("--usage", choices=("Training", "PublicTest", "PrivateTest", "all"),
                          help="split to evaluate (default PrivateTest if present, else PublicTest)")
    on_saved.add_argument("--tta", action="store_true", help="average with the flipped face when evaluating")
    on_saved.add_argument("--report-json", help="write the evaluation as JSON to this file")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error("--epochs must be at least 1")
    if args.name is not None and not re.fullmatch(r"\w[\w.+-]{0,99}", args.name):
        p.error(f"--name {args.name!r}: a plain file name (letters, digits, '_', '-', '.', '+'; "
                "no folders, at most 100 characters)")
    if args.learning_rate is not None and not 0 < args.learning_rate <= 1:
        p.error("--learning-rate must be above 0 and at most 1")
    if not 0 < args.teacher_weight <= 1:
        p.error("--teacher-weight must be above 0 and at most 1")
    if args.photo_rule is not None and not (args.calibrate_confidence and 0 <= args.photo_rule <= 2):
        p.error("--photo-rule goes with --calibrate-confidence and is from 0 to 2")
    if not 0 <= args.logit_adjustment <= 2:
        p.error("--logit-adjustment must be from 0 to 2")
    if not 0 < args.votes_weight <= 1:
        p.error("--votes-weight must be above 0 and at most 1")
    args.recipe = args.recipe or ("original" if args.arch == "original" else "improved")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from fakeblock.core.errors import install_hint
    from fakeblock.core.quiet_imports import missing_training_packages

    missing = missing_training_packages()
    if missing:
        print(f"error: training needs {', '.join(missing)}: {install_hint('train')}",
              file=sys.stderr)
        return 2
    from fakeblock.core.errors import FakeBlockError
    from fakeblock.core.interrupts import silence_closed_stdout, terminate_like_ctrl_c
    from fakeblock.core.logs import show_messages

    show_messages(sys.stdout)
    with terminate_like_ctrl_c() as terminated:  # kill: as Ctrl-C, the finished epochs kept
        try:
            run(args)
        except FakeBlockError as e:
            print(f"error: {e}", file=sys.stderr)
            return e.exit_code
        except KeyboardInterrupt:
            print("\ninterrupted: the last finished epoch is kept; run again with --resume",
                  file=sys.stderr)
            return 143 if terminated.is_set() else 130
        except BrokenPipeError:  # | head: what reads the messages went away
            silence_closed_stdout()
            print("error: stopped: the program reading the messages (standard output) ended; the last "
                  "finished epoch is kept; run again with --resume", file=sys.stderr)
            return 1
    return 0


def run(args):
    from fakeblock.core.modelfile import check_model_file, default_name
    from fakeblock.training import commands, evaluate, fitting, references, runs, saving
    from fakeblock.training.data import load_training_data

    name = args.name or default_name(args.labels, args.arch, args.recipe)
    saved_model = Path(args.model) if args.model else Path(args.out) / f"{name}.keras"
    if args.evaluate or args.recalibrate or args.calibrate_confidence:
        check_model_file(saved_model)  # before minutes of loading data

    # ------------------------------------------------------------ data
    votes = references.checked_votes(args.votes, args.votes_weight, args.labels) if args.votes else {}
    dataset = load_training_data(args.data, args.labels, args.skip_bad_rows, args.cache_dir)
    if args.evaluate:
        evaluate.evaluate_saved(saved_model, dataset, args.usage, args.tta, args.report_json,
                                references.load_votes(votes))
        return
    splits = runs.choose_splits(dataset, args.split, args.seed)
    if args.recalibrate:
        commands.recalibrate_saved(saved_model, dataset, splits, args.seed, votes)
        return
    if args.calibrate_confidence:
        commands.calibrate_saved(saved_model, dataset, splits, votes, args.photo_rule)
        return
    model_path = runs.output_folder(args.out) / f"{name}.keras"
    run_folder = runs.RunFolder(Path(args.work_dir) / name)
    if args.export:
        saving.save_trained(run_folder.saved(), run_folder, runs.best_epoch(run_folder), dataset, splits,
                           args.split, model_path)
        return

    # ------------------------------------------------------------ model
    config = run_folder.start(None if args.resume else runs.new_config(
        dataset, arch=args.arch, recipe=args.recipe, epochs=args.epochs, labels=args.labels,
        label_mode=args.label_mode, seed=args.seed, learning_rate=args.learning_rate,
        init_from=args.init_from, teachers=args.teacher, teacher_weight=args.teacher_weight,
        votes=votes, ema=args.ema,
        logit_adjustment=args.logit_adjustment, camera=args.camera_augmentation,
        host_augmentation=args.host_augmentation), args.resume, args.fresh)
    runs.announce(config, splits, run_folder)

    # ------------------------------------------------------------ fit
    best = fitting.fit(config, splits.train, splits.validation, run_folder)

    # ------------------------------------------------------------ evaluate and save
    saving.save_trained(config, run_folder, best, dataset, splits, args.split, model_path)
    run_folder.finish(model_path)


if __name__ == "__main__":
    sys.exit(main())
