"""Drawing on frames: face boxes with labels, the main face's bars, FPS and key help."""

import cv2
import numpy as np

from ..core.emotions import COLORS_BGR

FONT = cv2.FONT_HERSHEY_SIMPLEX
KEY_HELP = "q/Esc quit  s snapshot  space pause  m mirror  f face mesh  p profile"


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


def draw_bars(frame, scores, classes, origin=(10, 40), width=BAR_WIDTH, title=None):
    """One bar per emotion for the main face, as the original project drew them;
    ``title`` (whose scores they are) on a row above the bars."""
    x0, y0 = origin
    row = BAR_ROW
    top = y0 - (row if title else 0)
    panel = frame[top - 4:y0 + row * len(classes), x0 - 4:x0 + BAR_PANEL_WIDTH - 4]
    panel[:] = (panel * 0.45).astype(frame.dtype)  # darken behind the bars
    if title:
        _text(frame, title, (x0, y0 - 5), 0.45, outline=False)
    for i, (name, score) in enumerate(zip(classes, scores)):
        y = y0 + i * row
        color = COLORS_BGR.get(name, (255, 255, 255))
        cv2.rectangle(frame, (x0 + 70, y + 3), (x0 + 70 + int(width * float(score)), y + row - 3),
                      color, cv2.FILLED)
        _text(frame, name, (x0, y + row - 5), 0.45, outline=False)
        _text(frame, f"{score:.0%}", (x0 + 75 + width, y + row - 5), 0.4, outline=False)


def _overlap(a, b) -> int:
    """Area shared by two boxes ``(x, y, w, h)``."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, width) * max(0, height)


def bars_left_edge(boxes: list, frame_width: int, panel_height: int) -> int:
    """Where the main face's bars go: the side of the picture (left or right
    edge) that hides the fewest other faces, and on a tie the side with more
    room beside the main face. ``boxes``: as drawn, the main face first."""
    x, _, w, _ = boxes[0]
    sides = [10, frame_width - BAR_PANEL_WIDTH - 10]
    more_room_first = sides if x > frame_width - x - w else sides[::-1]

    def hidden(left):
        panel = (left, 40 - BAR_ROW - 4, BAR_PANEL_WIDTH, panel_height + BAR_ROW + 4)
        return sum(_overlap(panel, box) for box in boxes[1:])

    return min(more_room_first, key=hidden)


def draw_status(frame, fps: float | None, show_help: bool, note: str | None = None):
    """Frames per second in the top-left corner, ``note`` (a profile in use, the
    capture's prompt) centred above the bottom line, and the key help along the bottom."""
    if note:
        scale = max(0.6, frame.shape[1] / 900)
        (width, _), _ = cv2.getTextSize(note, FONT, scale, 2)
        _text(frame, note, (max(10, (frame.shape[1] - width) // 2), frame.shape[0] - 20 - round(25 * scale)),
              scale, (255, 255, 255), 2)
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


MESH_BGR = (255, 255, 160)
STRONGEST_SHOWN = 3


def draw_mesh(frame, landmarks: np.ndarray, movements: dict | None, box):
    """A face's landmarks as dots, and its strongest movements below its box."""
    for x, y in np.round(landmarks[:, :2]).astype(int):
        cv2.circle(frame, (int(x), int(y)), 1, MESH_BGR, cv2.FILLED)
    strongest = sorted((movements or {}).items(), key=lambda item: -item[1])[:STRONGEST_SHOWN]
    x, y, w, h = box
    for i, (name, score) in enumerate(strongest):
        _text(frame, f"{name} {score:.2f}", (x, y + h + 18 + 18 * i), 0.45, MESH_BGR)


def render(frame: np.ndarray, faces: list, classes, fps=None, mirrored=False, show_help=False,
           meshes: dict | None = None, note: str | None = None):
    """A copy of ``frame`` (BGR) with all faces drawn; ``faces`` as in the JSON
    output (``box``, ``emotion``, ``confidence``, ``scores``, ``track``).
    ``mirrored`` flips the picture (selfie view); the boxes follow. ``meshes``
    (track -> landmarks): drawn with each face's strongest movements; ``note``:
    a line across the top (a profile in use, the capture's prompt)."""
    canvas = cv2.flip(frame, 1) if mirrored else frame.copy()
    for face in faces:
        landmarks = (meshes or {}).get(face.get("track"))
        if landmarks is not None:
            box = mirror_box(face["box"], frame.shape[1]) if mirrored else face["box"]
            shown = landmarks * [-1, 1, 1] + [frame.shape[1] - 1, 0, 0] if mirrored else landmarks
            draw_mesh(canvas, shown, face.get("movements"), box)
    for face in faces:
        box = mirror_box(face["box"], frame.shape[1]) if mirrored else face["box"]
        # track ids tell faces apart (and match the timeline plot) where there are several
        track = face.get("track") if len(faces) > 1 else None
        draw_face(canvas, box, face["emotion"], face["confidence"], track, face.get("uncertain", False))
    height, width = canvas.shape[:2]
    several = len(faces) > 1
    if faces and height >= 40 + BAR_ROW * (len(classes) + several) and width >= 2 * BAR_PANEL_WIDTH:
        boxes = [mirror_box(f["box"], width) if mirrored else f["box"] for f in faces]
        left = bars_left_edge(boxes, width, BAR_ROW * len(classes))
        # with several faces, the bars say whose they are (the box's label carries the same #)
        title = f"face #{faces[0]['track']}" if several and faces[0].get("track") is not None else None
        draw_bars(canvas, [faces[0]["scores"][c] for c in classes], classes,
                  origin=(left + 4, 40 + (BAR_ROW if title else 0)), title=title)
    draw_status(canvas, fps, show_help, note)
    return canvas
