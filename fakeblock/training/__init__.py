"""Making a model: datasets, fitting, runs and their checkpoints, evaluation,
augmentation. Uses :mod:`fakeblock.core`, never :mod:`fakeblock.app`."""
