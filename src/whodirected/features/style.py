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

from whodirected.features import subtitles

WORK_WIDTH = 256  # descriptors are computed on a copy this wide
BAR_LUMA = 20.0  # a bar's black is no lighter than this (0-255)
BAR_FLAT = 2.0  # ... and flat: its pixels lie within this many levels of the line's darkest
BAR_SHARE = 0.6  # a line this much flat black is bar, even with subtitle text burnt into it
MIN_PICTURE = 0.3  # bars leave at least this share of each side: a darker frame is all picture
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
VERSION = f"style-5;{subtitles.VERSION}"


def active_box(image: Image.Image) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the picture inside black letterbox/pillarbox bars.

    A bar is made of flat black lines at the frame's edge, as deep on both sides: the shallower
    side's depth is trimmed from both, so a dark part of the picture on one side stays picture.
    Dark scenes have texture and grain where bars are flat, and a frame whose "bars" would leave
    less than :data:`MIN_PICTURE` of it is a dark frame, kept whole."""
    width, height = image.size
    edges = (  # each outer line and the axis along which it is a line
        ((0, 0, width, 1), 1),
        ((0, height - 1, width, height), 1),
        ((0, 0, 1, height), 0),
        ((width - 1, 0, width, height), 0),
    )
    if not any(_bar_lines(_luma(image.crop(box)), axis)[0] for box, axis in edges):
        return 0, 0, width, height  # no edge line is bar: the whole frame is picture
    luma = _luma(image)
    vertical = _bar_depth(_bar_lines(luma, axis=1))
    horizontal = _bar_depth(_bar_lines(luma, axis=0))
    if height - 2 * vertical < MIN_PICTURE * height or width - 2 * horizontal < MIN_PICTURE * width:
        return 0, 0, width, height
    return horizontal, vertical, width - horizontal, height - vertical


def _luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


def _bar_lines(luma: np.ndarray, axis: int) -> np.ndarray:
    """Which rows (``axis`` 1) or columns (0) of ``luma`` are bar: mostly flat black."""
    darkest = luma.min(axis=axis, keepdims=True)
    flat = (luma <= darkest + BAR_FLAT).mean(axis=axis)
    return (darkest.squeeze(axis) <= BAR_LUMA) & (flat >= BAR_SHARE)


def _bar_depth(lines: np.ndarray) -> int:
    """How many lines are bar from both ends of ``lines`` at once (the shallower end's count)."""
    picture = np.flatnonzero(~lines)
    if not len(picture):
        return len(lines)
    return min(int(picture[0]), len(lines) - 1 - int(picture[-1]))


def trim_bars(image: Image.Image) -> Image.Image:
    """The active picture, without black bars (unchanged when there are none)."""
    box = active_box(image)
    return image if box == (0, 0, image.width, image.height) else image.crop(box)


def working_copy(
    image: Image.Image, width: int = WORK_WIDTH, without_subtitles: bool = True
) -> tuple[tuple[int, int], tuple[int, int, int, int], np.ndarray]:
    """A frame as the measured blocks see it: the size of its copy at most ``width`` wide, the
    box of the active picture in that copy, and that picture (uint8 RGB), any burnt-in subtitle
    painted out unless ``without_subtitles`` is False (:mod:`.subtitles`)."""
    frame = image.convert("RGB")
    copy = frame
    if frame.width > width:
        copy = frame.resize((width, max(1, round(frame.height * width / frame.width))))
    box = active_box(copy)
    picture = np.asarray(copy.crop(box), dtype=np.uint8)
    if min(picture.shape[:2]) < 8 or not without_subtitles:
        return copy.size, box, picture
    scale = frame.width / copy.width  # subtitles are looked for on the frame's own pixels
    where = subtitles.find(frame, tuple(round(edge * scale) for edge in box))
    return copy.size, box, subtitles.paint_out(picture, where)


def describe(image: Image.Image, without_subtitles: bool = True) -> np.ndarray:
    """All :data:`DESCRIPTORS` of one frame, as float32 in their order (burnt-in subtitles
    painted out first, unless ``without_subtitles`` is False)."""
    (width, height), (left, top, right, bottom), rgb = working_copy(image, WORK_WIDTH, without_subtitles)
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
