"""FakeBlock: emotion recognition from faces, live from a webcam or from files.

The Python API (:mod:`fakeblock.app.api`): ``analyze_image``, ``analyze_video``,
``Recognizer``, and ``analyze_videos`` for many videos at once
(:mod:`fakeblock.app.videos`). Three layers: :mod:`fakeblock.core` (what both
sides share), :mod:`fakeblock.app` (frames in, labelled faces out: ``sources``
-> ``blazeface``/``haar`` -> ``classify`` -> ``pipeline`` -> ``overlay`` -> ``sinks``) and
:mod:`fakeblock.training` (making a model); the app and training never import
each other. Nothing heavy is imported until it is used.

Every problem a caller can fix raises a :class:`FakeBlockError`; its
subclasses :class:`InputError`, :class:`ModelFileError` and
:class:`MissingInstallError` tell a bad source, a bad model file and a missing
optional install apart.
"""

from .core import logs  # noqa: F401 - the package logger's NullHandler
from .core.errors import FakeBlockError, InputError, MissingInstallError, ModelFileError

__version__ = "1.1.0"
__all__ = ["FakeBlockError", "InputError", "MissingInstallError", "ModelFileError",
           "Recognizer", "analyze_image", "analyze_video", "analyze_videos"]
_API = ("Recognizer", "analyze_image", "analyze_video")


def __getattr__(name):
    # the API imports OpenCV and NumPy: only when one of its verbs is asked for
    if name == "analyze_videos":
        from .app.videos import analyze_videos
        return analyze_videos
    if name in _API:
        from .app import api
        return getattr(api, name)
    raise AttributeError(f"module 'fakeblock' has no attribute {name!r}")
