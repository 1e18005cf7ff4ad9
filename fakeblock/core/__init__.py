"""What both the app and training use: the emotion classes, errors, atomic writes,
preprocessing, the networks, model files and their cards, calibration, images.
It imports neither :mod:`fakeblock.app` nor :mod:`fakeblock.training`."""
