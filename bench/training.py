"""Training throughput (images per second) of each architecture on this machine,
over a slice of the real Training split.

    python bench/training.py [--images 4096]
"""

import argparse
import time

from common import ROOT, SHARED_DATA, table

from fakeblock.core.preprocess import images_to_batch
from fakeblock.training.data import load_dataset
from fakeblock.training.fitting import compile_model
from fakeblock.training.runs import RECIPES, TrainConfig
from fakeblock.training.targets import targets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "fer2013.csv.gz"))
    parser.add_argument("--images", type=int, default=4096)
    args = parser.parse_args()
    from fakeblock.core.networks import build_model

    data = load_dataset(args.data, cache_dir=ROOT / "data" / "cache").split("Training")
    data = data.take(slice(0, args.images))
    rows = []
    for arch, recipe in (("original", "original"), ("original", "improved"), ("default", "improved")):
        config = TrainConfig(arch=arch, recipe=recipe, classes=data.classes)
        model = build_model(arch, 7, augment=RECIPES[recipe]["augment"])
        batch = RECIPES[recipe]["batch_size"]
        compile_model(model, config, steps_per_epoch=len(data) // batch)
        x, y = images_to_batch(data.images), targets(data, "single")
        model.fit(x[:batch * 4], y[:batch * 4], batch_size=batch, epochs=1, verbose=0)  # warm-up
        started = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        rate = len(data) / (time.perf_counter() - started)
        rows.append({"network": arch, "recipe": recipe, "parameters": model.count_params(),
                     "images/s": rate, "s per epoch (28,204 faces)": 28204 / rate})
    print(table(rows, ["network", "recipe", "parameters", "images/s", "s per epoch (28,204 faces)"]))


if __name__ == "__main__":
    main()
