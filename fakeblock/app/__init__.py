"""Frames in, labelled faces out: sources, face detection and following, the
classification engine, the pipeline, the overlay, the outputs, timelines, many
videos, the command line and the Python API. Uses :mod:`fakeblock.core`, never
:mod:`fakeblock.training`."""
