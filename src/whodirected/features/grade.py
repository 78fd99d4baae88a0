"""The ``grade`` block: how a frame is graded, lit and framed — what stays the same across a
director's films when their stories, sets and actors change.

An ImageNet network describes *what* is in a frame, which is mostly the film's content: it
recognises a film well and its director in another film poorly. These 54 descriptors
describe *how* the frame looks, each named (:data:`NAMES`):

- the tone curve: lightness (CIE L*) at 7 quantiles, from the deepest shadows to the
  highlights;
- split toning: the colour cast (a*, b*) of the shadows, midtones and highlights apart (the
  teal-and-orange look is cool shadows under warm highlights), and the spread of colour;
- saturation at 4 quantiles;
- texture: sharpness, depth of field (sharpness of the centre against the whole), grain;
- the picture's aspect ratio (inside any black bars);
- composition: where the light and the edges sit, on a 3 x 3 grid, relative to the frame's
  mean;
- the palette: 12 hue bands weighted by saturation.

On real feature-film stills (``benchmarks/real.py``, films never seen) this block alone names
the director of an unseen film about as often as EfficientNet-Lite2, and the two together
clearly more often than either.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from whodirected.features import subtitles
from whodirected.features.style import working_copy

WORK_WIDTH = 256  # descriptors are computed on a copy this wide
TONE_QUANTILES = (2, 10, 25, 50, 75, 90, 98)
SATURATION_QUANTILES = (25, 50, 75, 90)
HUE_BANDS = 12
_GRID = 3
_AREAS = [f"{row}_{col}" for row in ("top", "middle", "bottom") for col in ("left", "centre", "right")]

NAMES: tuple[str, ...] = (
    *(f"tone_p{q:02d}" for q in TONE_QUANTILES),
    *(f"{zone}_{axis}" for zone in ("shadows", "midtones", "highlights") for axis in ("a", "b")),
    "a_spread",
    "b_spread",
    "chroma",
    *(f"saturation_p{q:02d}" for q in SATURATION_QUANTILES),
    "sharpness",
    "depth_of_field",
    "grain",
    "log_aspect",
    *(f"light_{area}" for area in _AREAS),
    *(f"edges_{area}" for area in _AREAS),
    *(f"hue_{i * 360 // HUE_BANDS:03d}" for i in range(HUE_BANDS)),
)
VERSION = f"grade-4;{subtitles.VERSION}"


def _grid_shares(values: np.ndarray) -> list[float]:
    """The mean of ``values`` in each cell of a 3 x 3 grid, relative to the whole's mean."""
    h, w = values.shape
    cells = np.array(
        [
            values[i * h // _GRID : (i + 1) * h // _GRID, j * w // _GRID : (j + 1) * w // _GRID].mean()
            for i in range(_GRID)
            for j in range(_GRID)
        ]
    )
    return list(cells / (cells.mean() + 1e-6))


def describe(image: Image.Image, without_subtitles: bool = True) -> np.ndarray:
    """All :data:`NAMES` of one frame, as float32 in their order (burnt-in subtitles painted
    out first, unless ``without_subtitles`` is False)."""
    _, (left, top, right, bottom), picture = working_copy(image, WORK_WIDTH, without_subtitles)
    if min(picture.shape[:2]) < _GRID * 2:  # a tiny frame: measure it enlarged
        picture = cv2.resize(picture, (max(picture.shape[1], 8), max(picture.shape[0], 8)))
    rgb = picture.astype(np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)  # hue in degrees, saturation 0-1
    hue, saturation = hsv[..., 0], hsv[..., 1]

    values: list[float] = list(np.percentile(lightness, TONE_QUANTILES))
    low, high = np.percentile(lightness, [100 / 3, 200 / 3])
    for zone in (lightness <= low, (lightness > low) & (lightness <= high), lightness > high):
        values += [float(a[zone].mean()), float(b[zone].mean())] if zone.any() else [0.0, 0.0]
    values += [float(a.std()), float(b.std()), float(np.hypot(a, b).mean())]
    values += list(np.percentile(saturation, SATURATION_QUANTILES))

    grey = (lightness * 2.55).astype(np.uint8)
    laplacian = cv2.Laplacian(grey, cv2.CV_32F)
    h, w = grey.shape
    sharpness = float(np.log1p(laplacian.var()))
    centre = float(np.log1p(laplacian[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].var()))
    noise = grey.astype(np.float32) - cv2.medianBlur(grey, 3).astype(np.float32)
    values += [sharpness, centre - sharpness, float(np.log1p(noise.std()))]
    values.append(float(np.log(max(1, right - left) / max(1, bottom - top))))

    edges = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    values += _grid_shares(lightness) + _grid_shares(edges)
    bands, _ = np.histogram(hue, bins=HUE_BANDS, range=(0, 360), weights=saturation)
    values += list(bands / (saturation.sum() + 1e-6))
    return np.asarray(values, dtype=np.float32)
