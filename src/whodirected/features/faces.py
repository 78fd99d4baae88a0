"""Faces: shot scale, where the face sits, and who it is (the ``faces`` block).

Film scholars read a director's hand in the distribution of **shot scales** (close-up,
medium, long: Svanera et al., IEEE MultiMedia 2019) and in the actors the director returns
to. One face detector gives both, offline: dlib's HOG detector finds the faces, and its
ResNet descriptor (``face-recognition-models``) turns the largest one into a 128-d vector in
which the same person lies within :data:`MATCH_DISTANCE` (0.6, dlib's own threshold).

Installed with ``pip install 'whodirected[faces]'``; without it the block is listed as not
installed and nothing else changes.

**Shot scale from the largest face's height**, as a share of the frame's height. A standing
adult is about 7.5 heads tall and dlib's box spans about two thirds of a head (brows to chin),
so a whole body fits in the frame only when the box is under about 0.09 of the frame's
height, and a head-and-shoulders framing makes it about a quarter or more:

- ``close-up``: 0.25 and more (head and shoulders, or closer);
- ``medium``: 0.12 to 0.25 (chest or waist up);
- ``long``: under 0.12 (knees up and wider).

Faces are looked for on a copy :data:`WORK_HEIGHT` pixels high, upsampled once, so the
smallest face found is about 40 / 432 = 0.09 of the frame's height: the widest shots mostly
show no face at all and count as ``no face`` (``benchmarks/faces.py`` measures what a larger
copy would find, and what it costs).
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from whodirected.features import style

WORK_HEIGHT = 432  # pixels: frames are searched at this height (extract saves 768x432)
WIDEST = 4  # ... or smaller, when wider than this many times that height (a long strip)
UPSAMPLE = 1  # dlib upsampling steps: 1 finds faces from about 40 px of the work copy
CLOSE_UP, MEDIUM = 0.25, 0.12  # face-height shares from which a shot is close-up, medium
SCALES = ("close-up", "medium", "long", "no face")
MATCH_DISTANCE = 0.6  # dlib's threshold: the same person is nearer than this
EMBEDDING = 128
NAMES = ("faces", "face_height", "close_up", "medium", "long", "no_face", "face_x", "face_y")
DIM = len(NAMES) + EMBEDDING  # the block: the traits above, then the largest face's descriptor
SCALE_COLUMNS = slice(NAMES.index("close_up"), NAMES.index("no_face") + 1)  # one-hot, SCALES order
VERSION = f"faces-2;h{WORK_HEIGHT};up{UPSAMPLE};cu{CLOSE_UP};m{MEDIUM}"
INSTALL = "pip install 'whodirected[faces]'"
SCALE_NOTE = (
    f"Shot scale from the largest face's height as a share of the picture's: close-up from {CLOSE_UP}, "
    f"medium from {MEDIUM}, long below; faces under about 0.09 are not found, so the widest shots count as no face."
)


_loaded = threading.local()


def _models():
    """dlib's detector, 5-point landmarks and descriptor network, loaded once per thread (dlib's
    objects must not be shared by threads: the embed pipeline's readers crashed on them). The
    model files are located without importing ``face_recognition_models`` (which needs
    setuptools' deprecated ``pkg_resources``)."""
    if not hasattr(_loaded, "models"):
        _loaded.models = _load()
    return _loaded.models


def _load():
    import dlib

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the face models are not installed: {INSTALL}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
    descriptor = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
    return dlib.get_frontal_face_detector(), landmarks, descriptor


@dataclass(frozen=True)
class Face:
    """One face: its box as shares of the frame (left, top, right, bottom)."""

    box: tuple[float, float, float, float]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


@dataclass(frozen=True)
class Faces:
    """The faces of one frame, largest first, and the largest one's descriptor."""

    faces: tuple[Face, ...]
    embedding: np.ndarray | None  # (128,) float32, None without a face

    @property
    def scale(self) -> str:
        return scale_of(self.faces[0].height) if self.faces else "no face"

    def vector(self) -> np.ndarray:
        """The block's row: :data:`NAMES`, then the descriptor (zeros without a face)."""
        row = np.zeros(DIM, np.float32)
        row[0] = len(self.faces)
        row[SCALE_COLUMNS.start + SCALES.index(self.scale)] = 1.0
        if self.faces:
            row[1] = self.faces[0].height
            row[6:8] = self.faces[0].centre
            row[len(NAMES) :] = self.embedding
        else:
            row[6:8] = 0.5
        return row


def scale_of(height: float) -> str:
    """The shot scale of a face ``height`` (a share of the frame's height)."""
    return "close-up" if height >= CLOSE_UP else "medium" if height >= MEDIUM else "long"


def detect(image: Image.Image, work_height: int = WORK_HEIGHT, upsample: int = UPSAMPLE) -> Faces:
    """The faces of a picture, found on a copy ``work_height`` pixels high."""
    detector, landmarks, descriptor = _models()
    image = image.convert("RGB")
    scale = min(work_height / image.height, WIDEST * work_height / image.width)
    if scale != 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(image)
    rects = sorted(detector(pixels, upsample), key=lambda r: -r.height())
    w, h = image.size
    faces = tuple(
        Face((max(0, r.left()) / w, max(0, r.top()) / h, min(w, r.right()) / w, min(h, r.bottom()) / h))
        for r in rects
    )
    embedding = None
    if rects:
        shape = landmarks(pixels, rects[0])
        embedding = np.asarray(descriptor.compute_face_descriptor(pixels, shape), dtype=np.float32)
    return Faces(faces, embedding)


def describe(image: Image.Image) -> np.ndarray:
    """The ``faces`` block's row for one picture (what the embed pipeline's readers run): the
    faces of its active picture, black bars trimmed, so that shares are of the picture."""
    return detect(style.trim_bars(image.convert("RGB"))).vector()


def embeddings(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From rows of the block: each row's descriptor and whether the row has a face."""
    block = np.atleast_2d(block)
    return block[:, len(NAMES) :], block[:, 0] > 0


def scale_shares(block: np.ndarray) -> np.ndarray:
    """The share of frames of each shot scale, :data:`SCALES` order, from rows of the block."""
    block = np.atleast_2d(block)
    return block[:, SCALE_COLUMNS].mean(axis=0) if len(block) else np.zeros(len(SCALES))


def scale_of_row(row: np.ndarray) -> str:
    """The shot scale recorded in one row of the block."""
    return SCALES[int(np.argmax(row[SCALE_COLUMNS]))]
