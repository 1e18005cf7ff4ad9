"""Drawing on frames: face boxes with labels, the main face's bars, FPS and key help."""

import cv2
import numpy as np

from ..core.emotions import COLORS_BGR

FONT = cv2.FONT_HERSHEY_SIMPLEX
KEY_HELP = "q/Esc quit  s snapshot  space pause  m mirror"


def _text(frame, text, origin, scale=0.5, color=(255, 255, 255), thickness=1, outline=True):
    """Text, by default with a dark outline that makes it readable on any background
    (the outline costs ten times the text: skip it on a dark background)."""
    if outline:
        cv2.putText(frame, text, origin, FONT, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(frame, text, origin, FONT, scale, color, thickness, cv2.LINE_AA)


UNCERTAIN_BGR = (160, 160, 160)


def draw_face(frame, box, emotion: str, confidence: float, track_id=None, uncertain=False):
    """A box around the face, with the emotion and its confidence above it (below
    when the face touches the top edge). An uncertain face gets a thin gray box
    and its best guess with a question mark."""
    x, y, w, h = box
    color = UNCERTAIN_BGR if uncertain else COLORS_BGR.get(emotion, (255, 255, 255))
    thickness = max(1, frame.shape[1] // 640) if uncertain else max(2, frame.shape[1] // 320)
    cv2.rectangle(frame, (x, y), (x + w, y + h), color, thickness, cv2.LINE_AA)
    label = (f"{emotion}{'?' if uncertain else ''} {confidence:.0%}"
             + (f"  #{track_id}" if track_id is not None else ""))
    scale = max(0.5, frame.shape[1] / 1280)
    (tw, th), baseline = cv2.getTextSize(label, FONT, scale, 1)
    top = y - th - baseline - 4 if y - th - baseline - 4 >= 0 else y + h
    cv2.rectangle(frame, (x, top), (x + tw + 6, top + th + baseline + 4), color, cv2.FILLED)
    cv2.putText(frame, label, (x + 3, top + th + 2), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)


BAR_ROW, BAR_WIDTH, BAR_PANEL_WIDTH = 18, 100, 215


def draw_bars(frame, scores, classes, origin=(10, 40), width=BAR_WIDTH):
    """One bar per emotion for the main face, as the original project drew them."""
    x0, y0 = origin
    row = BAR_ROW
    panel = frame[y0 - 4:y0 + row * len(classes), x0 - 4:x0 + BAR_PANEL_WIDTH - 4]
    panel[:] = (panel * 0.45).astype(frame.dtype)  # darken behind the bars
    for i, (name, score) in enumerate(zip(classes, scores)):
        y = y0 + i * row
        color = COLORS_BGR.get(name, (255, 255, 255))
        cv2.rectangle(frame, (x0 + 70, y + 3), (x0 + 70 + int(width * float(score)), y + row - 3),
                      color, cv2.FILLED)
        _text(frame, name, (x0, y + row - 5), 0.45, outline=False)
        _text(frame, f"{score:.0%}", (x0 + 75 + width, y + row - 5), 0.4, outline=False)


def draw_status(frame, fps: float | None, show_help: bool):
    """Frames per second in the top-left corner, and the key help along the bottom."""
    if fps is not None:  # on a dark box: cheaper than outlined text, drawn every frame
        label = f"{fps:.1f} FPS"
        (width, height), baseline = cv2.getTextSize(label, FONT, 0.6, 1)
        cv2.rectangle(frame, (6, 22 - height - 4), (14 + width, 22 + baseline), (0, 0, 0), cv2.FILLED)
        _text(frame, label, (10, 22), 0.6, (0, 255, 0), 1, outline=False)
    if show_help:
        _text(frame, KEY_HELP, (10, frame.shape[0] - 10), 0.45)


def mirror_box(box, frame_width: int):
    """The box as it appears in the horizontally mirrored frame."""
    x, y, w, h = box
    return (frame_width - x - w, y, w, h)


def render(frame: np.ndarray, faces: list, classes, fps=None, mirrored=False, show_help=False):
    """A copy of ``frame`` (BGR) with all faces drawn; ``faces`` as in the JSON
    output (``box``, ``emotion``, ``confidence``, ``scores``, ``track``).
    ``mirrored`` flips the picture (selfie view); the boxes follow."""
    canvas = cv2.flip(frame, 1) if mirrored else frame.copy()
    for face in faces:
        box = mirror_box(face["box"], frame.shape[1]) if mirrored else face["box"]
        # track ids tell faces apart (and match the timeline plot) where there are several
        track = face.get("track") if len(faces) > 1 else None
        draw_face(canvas, box, face["emotion"], face["confidence"], track, face.get("uncertain", False))
    height, width = canvas.shape[:2]
    if faces and height >= 40 + BAR_ROW * len(classes) and width >= 2 * BAR_PANEL_WIDTH:
        x, _, w, _ = mirror_box(faces[0]["box"], width) if mirrored else faces[0]["box"]
        # the bars go on the side of the picture with more room beside the main face
        left = 10 if x > width - x - w else width - BAR_PANEL_WIDTH - 10
        draw_bars(canvas, [faces[0]["scores"][c] for c in classes], classes, origin=(left + 4, 40))
    draw_status(canvas, fps, show_help)
    return canvas
