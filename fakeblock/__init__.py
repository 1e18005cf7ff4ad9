"""FakeBlock: emotion recognition from faces, live from a webcam or from files.

The package's modules follow the data: ``sources`` -> ``detect`` -> ``preprocess``
-> ``classify`` -> ``pipeline`` (following and smoothing) -> ``overlay`` ->
``sinks``/``timeline``; ``data``, ``models``, ``train`` and ``evaluate`` make
the model. Nothing heavy is imported until it is used.
"""

__version__ = "1.0.0"


def analyze_video(path, model=None, smooth: int = 5, min_confidence=None, **detector_options):
    """The emotion timeline of a video as a pandas DataFrame (see :mod:`fakeblock.timeline`)."""
    from .timeline import analyze_video as _analyze_video

    return _analyze_video(path, model, smooth, min_confidence, **detector_options)
