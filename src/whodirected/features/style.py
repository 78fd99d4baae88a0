"""Style descriptors: cheap, interpretable numbers a film scholar would name.

Each descriptor has a name and a unit (:data:`DESCRIPTORS`); :func:`describe` computes them
all for one frame on a small working copy. They are a backbone of their own (``style``),
feed the explore report, and, later, each director's style profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

WORK_WIDTH = 256  # descriptors are computed on a copy this wide
BAR_LUMA = 20.0  # rows/columns darker than this (0-255) on average, and flat, are bars
BAR_STD = 8.0
BAR_DARK_SHARE = 0.6  # a row at least this dark is part of a bar, even with subtitle text on it
EDGE_THRESHOLD = 40.0  # Sobel magnitude (0-255 scale) that counts as an edge

_HUE_BINS = 8


@dataclass(frozen=True)
class Descriptor:
    name: str
    unit: str
    meaning: str


DESCRIPTORS: tuple[Descriptor, ...] = (
    Descriptor("brightness", "L* 0-100", "mean CIE lightness of the active picture"),
    Descriptor("contrast", "L* std", "standard deviation of lightness"),
    Descriptor("colourfulness", "Hasler-Süsstrunk M", "0 grey, ~40 average, >100 vivid"),
    Descriptor("saturation", "0-1", "mean HSV saturation"),
    Descriptor("warmth", "b* + a*/2", "positive warm (red/yellow), negative cool (blue/teal)"),
    Descriptor("tint", "a*", "positive magenta, negative green"),
    Descriptor("active_aspect", "width/height", "aspect ratio of the picture inside black bars"),
    Descriptor("letterbox", "fraction", "share of the frame height covered by bars"),
    Descriptor("pillarbox", "fraction", "share of the frame width covered by bars"),
    Descriptor("edge_density", "fraction", "share of pixels on an edge"),
    Descriptor("symmetry", "0-1", "left-right mirror similarity, 1 perfectly symmetric"),
    Descriptor("off_centre", "0-1", "horizontal distance of the visual weight from the centre"),
    Descriptor("thirds", "fraction", "share of edge energy near the rule-of-thirds lines"),
    Descriptor("grain", "levels 0-255", "fine noise: std of the image minus its median blur"),
    *(
        Descriptor(
            f"hue_{i * 360 // _HUE_BINS:03d}", "fraction", "share of saturated pixels in this hue band"
        )
        for i in range(_HUE_BINS)
    ),
)
NAMES = tuple(d.name for d in DESCRIPTORS)
VERSION = "style-2"


def active_box(image: Image.Image) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the picture inside black letterbox/pillarbox bars."""
    width, height = image.size
    edge_rows = [image.crop((0, 0, width, 1)), image.crop((0, height - 1, width, height))]
    edge_columns = [image.crop((0, 0, 1, height)), image.crop((width - 1, 0, width, height))]
    if all(_picture(_luma(r), axis=1)[0] for r in edge_rows) and all(
        _picture(_luma(c), axis=0)[0] for c in edge_columns
    ):
        return 0, 0, width, height  # the outer lines are picture, so the box is the whole frame
    luma = _luma(image)
    rows, cols = _picture(luma, axis=1), _picture(luma, axis=0)
    if not rows.any() or not cols.any():
        return 0, 0, width, height
    top, bottom = int(np.argmax(rows)), len(rows) - int(np.argmax(rows[::-1]))
    left, right = int(np.argmax(cols)), len(cols) - int(np.argmax(cols[::-1]))
    return left, top, right, bottom


def _luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


def _picture(luma: np.ndarray, axis: int) -> np.ndarray:
    """Which rows (``axis`` 1) or columns (0) of ``luma`` are picture rather than bar."""
    if axis == 1:  # a row of a bar is mostly black: subtitles burnt into a letterbox bar leave it a bar
        return (luma > BAR_LUMA).mean(axis=1) > 1.0 - BAR_DARK_SHARE
    return (luma.mean(axis=0) > BAR_LUMA) | (luma.std(axis=0) > BAR_STD)


def trim_bars(image: Image.Image) -> Image.Image:
    """The active picture, without black bars (unchanged when there are none)."""
    box = active_box(image)
    return image if box == (0, 0, image.width, image.height) else image.crop(box)


def describe(image: Image.Image) -> np.ndarray:
    """All :data:`DESCRIPTORS` of one frame, as float32 in their order."""
    image = image.convert("RGB")
    if image.width > WORK_WIDTH:
        image = image.resize((WORK_WIDTH, max(1, round(image.height * WORK_WIDTH / image.width))))
    left, top, right, bottom = active_box(image)
    width, height = image.size
    rgb = np.asarray(image.crop((left, top, right, bottom)), dtype=np.uint8)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    r, g, bl = (rgb[..., i].astype(np.float32) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - bl
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy) / 4.0
    column_energy = magnitude.sum(axis=0) + 1e-6
    xs = (np.arange(grey.shape[1]) + 0.5) / grey.shape[1]
    centre_x = float((column_energy * xs).sum() / column_energy.sum())
    near_thirds = (np.abs(xs - 1 / 3) < 1 / 12) | (np.abs(xs - 2 / 3) < 1 / 12)
    symmetry = 1.0 - float(np.abs(lightness - lightness[:, ::-1]).mean()) / 100.0
    grain = float((grey - cv2.medianBlur(grey.astype(np.uint8), 3).astype(np.float32)).std())

    saturated = hsv[..., 1] > 40
    hue_bins = (hsv[..., 0] * _HUE_BINS / 256).astype(int).clip(0, _HUE_BINS - 1)
    hues = np.bincount(hue_bins[saturated], minlength=_HUE_BINS) / max(1, saturated.size)

    values = [
        lightness.mean(),
        lightness.std(),
        colourfulness,
        hsv[..., 1].mean() / 255.0,
        b.mean() + a.mean() / 2,
        a.mean(),
        (right - left) / max(1, bottom - top),
        1 - (bottom - top) / height,
        1 - (right - left) / width,
        float((magnitude > EDGE_THRESHOLD).mean()),
        symmetry,
        abs(centre_x - 0.5) * 2,
        float(column_energy[near_thirds].sum() / column_energy.sum()),
        grain,
        *hues,
    ]
    return np.asarray(values, dtype=np.float32)


def dominant_colours(
    image: Image.Image, k: int = 5, seed: int = 0
) -> list[tuple[tuple[int, int, int], float]]:
    """The ``k`` dominant colours of the active picture (k-means in Lab), with their shares."""
    from sklearn.cluster import KMeans

    small = trim_bars(image.convert("RGB"))
    small.thumbnail((96, 96))
    rgb = np.asarray(small, dtype=np.float32).reshape(-1, 3) / 255.0
    lab = cv2.cvtColor(rgb[None], cv2.COLOR_RGB2Lab)[0]
    k = min(k, len(np.unique(rgb, axis=0)))
    model = KMeans(n_clusters=k, n_init=2, random_state=seed).fit(lab)
    centres = cv2.cvtColor(model.cluster_centers_.astype(np.float32)[None], cv2.COLOR_Lab2RGB)[0]
    shares = np.bincount(model.labels_, minlength=k) / len(model.labels_)
    order = np.argsort(-shares)
    return [(tuple(int(round(c * 255)) for c in centres[i].clip(0, 1)), float(shares[i])) for i in order]
