"""Per-frame speed of the app's pipeline against the original project's loop and
the `fer` package, on the same generated 640x480 frames, in one process.

    python bench/speed.py [--model model/ferplus.keras]

FakeBlock's default finder is BlazeFace; the Haar cascade rows are the original's finder.
"""

import argparse

import cv2
import numpy as np
from common import table, test_frames, time_per_frame

from fakeblock.app.haar import DEFAULT_CASCADE, HaarFaceDetector
from fakeblock.app.movements import MovementReader
from fakeblock.app.overlay import render
from fakeblock.app.pipeline import build_pipeline
from fakeblock.core.modelfile import DEFAULT_MODEL
from fakeblock.core.preprocess import to_gray


def fakeblock_frame(pipeline):
    """The app's per-frame work: detect + crop + batched classify + draw."""
    index = iter(range(10 ** 9))

    def work(frame):
        result = pipeline.process(frame, next(index))
        render(frame, result.faces, pipeline.classes, fps=30.0)
    return work


def original_frame(model, classes):
    """The original project's loop: the cascade run twice per frame at full size
    (scaleFactor 1.3, minNeighbors 5, minSize 48), the largest face classified
    with model.predict, then drawn."""
    cascade = cv2.CascadeClassifier(str(DEFAULT_CASCADE))

    def work(frame):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for (x, y, w, h) in cascade.detectMultiScale(gray, 1.3, 5, minSize=(48, 48)):
            cv2.rectangle(frame, (x, y), (x + w, y + h), (255, 0, 0), 2)
        faces = cascade.detectMultiScale(gray, 1.3, 5, minSize=(48, 48))
        if len(faces):
            x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
            face = cv2.resize(gray[y:y + h, x:x + w], (48, 48)).astype(np.float32)
            scores = model.predict(face[None, :, :, None], verbose=0)[0]
            cv2.putText(frame, classes[int(np.argmax(scores))], (x, y - 5),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return work


def fer_frame():
    """The `fer` package's detect_emotions (Haar cascade, its TFLite mini-Xception), drawn."""
    try:
        from fer.fer import FER
    except ImportError:
        return None
    detector = FER(mtcnn=False)

    def work(frame):
        for face in detector.detect_emotions(frame):
            x, y, w, h = face["box"]
            cv2.rectangle(frame, (x, y), (x + w, y + h), (255, 0, 0), 2)
    return work


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--frames", type=int, default=30, help="frames per face count")
    args = parser.parse_args()
    pipeline = build_pipeline(args.model)
    keras_pipeline = build_pipeline(args.model, engine="keras")
    classifier, keras_classifier = pipeline.classifier, keras_pipeline.classifier
    candidates = {
        "FakeBlock": fakeblock_frame(pipeline),
        "FakeBlock --movements": fakeblock_frame(build_pipeline(args.model, movements=True)),
        "FakeBlock --detector haar": fakeblock_frame(build_pipeline(args.model, detector="haar")),
        "FakeBlock --detector haar --detect-every 1": fakeblock_frame(
            build_pipeline(args.model, detector="haar", detect_every=1)),
        "FakeBlock --engine keras": fakeblock_frame(keras_pipeline),
        "original loop": original_frame(keras_classifier.engine.model, classifier.classes),
        "fer 25.10": fer_frame(),
    }
    rows = []
    for faces in (0, 1, 3):
        frames = test_frames(faces, args.frames)
        results = {name: time_per_frame(work, frames)
                   for name, work in candidates.items() if work is not None}
        ours = results["FakeBlock"]["median_ms"]
        for name, r in results.items():
            rows.append({"faces": faces, "pipeline": name, "median ms": r["median_ms"],
                         "p95 ms": r["p95_ms"], "FPS": r["fps"],
                         "FakeBlock speed-up": r["median_ms"] / ours})
    if candidates["fer 25.10"] is None:
        print("(fer not installed: pip install --no-deps -r requirements-bench.txt)")
    print(table(rows, ["faces", "pipeline", "median ms", "p95 ms", "FPS", "FakeBlock speed-up"]))
    print(table(stage_times(pipeline.detector, classifier, keras_classifier, test_frames(1, args.frames),
                            MovementReader()),
                ["one-face frame stage", "median ms"]))


def stage_times(detector, classifier, keras_classifier, frames, movements) -> list:
    """Median time of each stage of FakeBlock's work on one-face frames."""
    haar = HaarFaceDetector()
    box = detector.detect(to_gray(frames[0]))
    faces = [{"box": list(box[0]), "emotion": classifier.classes[0], "confidence": 1.0,
              "uncertain": False, "scores": dict.fromkeys(classifier.classes, 0.1), "track": 1}]
    stages = {
        "whole-frame face search (BlazeFace)": lambda frame: detector.detect(frame),
        "whole-frame face search (Haar)": lambda frame: haar.detect(to_gray(frame)),
        "search around the known face (Haar)": lambda frame: haar.detect_near(to_gray(frame), box),
        "classify the face (TensorFlow Lite)": lambda frame: classifier.classify(to_gray(frame), box),
        "classify the face (Keras)": lambda frame: keras_classifier.classify(to_gray(frame), box),
        "read the face's movements (landmarks + blendshapes)": lambda frame: movements.read(frame, box[0], 0.0),
        "draw": lambda frame: render(frame, faces, classifier.classes, fps=30.0),
    }
    return [{"one-face frame stage": name, "median ms": time_per_frame(work, frames)["median_ms"]}
            for name, work in stages.items()]


if __name__ == "__main__":
    main()
