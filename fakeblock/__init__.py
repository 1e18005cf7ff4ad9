"""FakeBlock: emotion recognition from faces, live from a webcam or from files.

The Python API is three verbs (:mod:`fakeblock.api`): ``analyze_image``,
``analyze_video`` and ``Recognizer``. The package's modules follow the data:
``sources`` -> ``detect`` -> ``preprocess`` -> ``classify`` -> ``pipeline``
(following and smoothing) -> ``overlay`` -> ``sinks``/``timeline``; ``data``,
``models``, ``train`` and ``evaluate`` make the model. Nothing heavy is
imported until it is used.
"""

__version__ = "1.1.0"
__all__ = ["Recognizer", "analyze_image", "analyze_video"]


def __getattr__(name):
    # the API imports OpenCV and NumPy: only when one of its verbs is asked for
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'fakeblock' has no attribute {name!r}")
