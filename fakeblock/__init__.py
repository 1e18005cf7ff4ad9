"""FakeBlock: emotion recognition from faces, live from a webcam or from files.

The Python API (:mod:`fakeblock.api`): ``analyze_image``, ``analyze_video``,
``Recognizer``, and ``analyze_videos`` for many videos at once
(:mod:`fakeblock.batch`). The package's modules follow the data: ``sources``
-> ``detect`` -> ``preprocess`` -> ``classify`` -> ``pipeline`` (following and
smoothing) -> ``overlay`` -> ``sinks``/``timeline``; ``data``, ``models``,
``train`` and ``evaluate`` make the model. Nothing heavy is
imported until it is used.
"""

__version__ = "1.1.0"
__all__ = ["Recognizer", "analyze_image", "analyze_video", "analyze_videos"]


def __getattr__(name):
    # the API imports OpenCV and NumPy: only when one of its verbs is asked for
    if name == "analyze_videos":
        from .batch import analyze_videos
        return analyze_videos
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'fakeblock' has no attribute {name!r}")
