"""Class names and label maps: the one place that lists the emotions."""

#: FER2013's labels, in label order (0 angry ... 6 neutral).
FER2013 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

#: FER+ models predict FER2013's seven emotions plus contempt.
FERPLUS = FER2013 + ("contempt",)

#: The vote columns of Microsoft's FER+ ``label.csv``, in file order, mapped onto
#: FER2013 names (``None``: votes that are not an emotion).
FERPLUS_VOTE_COLUMNS = (
    "neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt",
    None,  # unknown
    None,  # NF: not a face
)

#: Overlay and plot colours per emotion, as BGR tuples (OpenCV's order).
COLORS_BGR = {
    "angry": (40, 40, 220),
    "disgust": (40, 140, 40),
    "fear": (150, 60, 150),
    "happy": (0, 200, 255),
    "sad": (200, 110, 30),
    "surprise": (230, 200, 0),
    "neutral": (170, 170, 170),
    "contempt": (60, 90, 140),
}


def color_rgb(emotion: str) -> tuple:
    """The emotion's colour as an RGB tuple of floats in 0-1 (for matplotlib)."""
    b, g, r = COLORS_BGR[emotion]
    return (r / 255, g / 255, b / 255)
