"""FakeBlock: live emotion recognition from a webcam, a video, images or the demo.

    python WebCam.py                          # camera 0 (or the demo if there is none)
    python WebCam.py --source clip.mp4 --output labelled.mp4
    python WebCam.py --source photos/ --headless --json faces.jsonl

Keys: q or Esc quits, s saves a snapshot, space pauses, m mirrors the picture.
"""

import sys

from fakeblock.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
