"""Subtitles burnt into a screenshot, found and painted out before the picture is measured.

A screenshot of a film is often taken with subtitles on, and letters are not the film's look.
A line of white letters with black outlines adds highlights, shadows, contrast, edges and
grain to the bottom of the frame, which ``grade`` and ``style`` measure, and text, which the
network sees. On real feature-film stills (``benchmarks/screenshots.py``) subtitles cut the
default's films-never-seen frame top-1 among 136 directors from 0.079 to 0.058; painted out,
it is 0.079 again.

A subtitle is drawn to be read on any picture, so it is **bright white or yellow letters,
lighter than what surrounds their strokes, in a centred line of many thin strokes, in the
lower part of the frame**. Those letters and their outlines are painted over from their
surroundings (OpenCV's Telea inpainting), and the picture is measured as if they were not
there. Anything that is not such a line is left as it is: a frame where nothing is found is
measured unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

DETAIL_WIDTH = 512  # subtitles are looked for on a copy at most this wide
LOWER = 0.4  # subtitles are looked for in the lowest 40 % of the picture
BRIGHT = 170  # letters: at least this light (0-255), white or yellow...
NEUTRAL = 60  # ... white: channels within this many levels; yellow: blue this far below red and green
RISE = 60  # ... and this much lighter than the surroundings of a stroke (a morphological top-hat)
STROKE = 0.035  # strokes are thinner than this share of the picture's height (the top-hat's size)
ROW_SHARE = 0.02  # a row of a text line has letter pixels over at least this share of the width
LINE_HEIGHT = (0.02, 0.25)  # one or two text lines are this tall, as a share of the picture's height
CENTRED = 0.15  # a line's middle lies within this share of the width from the picture's middle
STROKES = 8  # a text line's rows cross at least this many strokes (its middle rows, median)
OUTLINE = 0.01  # outlines and shadows reach this share of the picture's height past the letters
VERSION = f"subtitles-2;d{DETAIL_WIDTH};l{LOWER};b{BRIGHT};n{NEUTRAL};r{RISE};s{STROKE};w{ROW_SHARE};h{LINE_HEIGHT};c{CENTRED};k{STROKES};o{OUTLINE}"


def mask(rgb: np.ndarray) -> np.ndarray:
    """Where subtitle letters and their outlines are in an ``(h, w, 3)`` uint8 RGB picture:
    a bool ``(h, w)`` array, all False when there are none."""
    h = rgb.shape[0]
    out = np.zeros(rgb.shape[:2], bool)
    top = h - _lower_rows(h)
    out[top:] = _lower_mask(np.ascontiguousarray(rgb[top:]), h)
    return out


def _lower_rows(height: int) -> int:
    """How many rows at the bottom of a picture ``height`` rows high subtitles are looked for in."""
    return height - int(height * (1 - LOWER))


def _lower_mask(part: np.ndarray, h: int) -> np.ndarray:
    """:func:`mask` of the lower part ``part`` of a picture ``h`` rows high."""
    w = part.shape[1]
    out = np.zeros(part.shape[:2], bool)
    if part.shape[0] < 4 or w < 16:
        return out
    red, green, blue = cv2.split(part)
    red_green = cv2.min(red, green)
    spread = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(red_green, blue))
    colour = (spread < NEUTRAL) | (cv2.subtract(red_green, blue) > NEUTRAL)  # white, or yellow
    luma = cv2.cvtColor(part, cv2.COLOR_RGB2GRAY)
    size = max(3, int(round(STROKE * h)) | 1)
    rise = cv2.morphologyEx(
        luma, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    )
    letters = (luma >= BRIGHT) & colour & (rise >= RISE)
    rows = letters.sum(axis=1) >= ROW_SHARE * w
    for start, stop in _runs(rows):
        height = stop - start
        if not LINE_HEIGHT[0] * h <= height <= LINE_HEIGHT[1] * h:
            continue
        left, right = _text_columns(letters[start:stop], gap=height)
        if abs((left + right) / 2 - w / 2) > CENTRED * w:
            continue
        band = letters[start:stop, left:right]
        middle = band[height // 4 : height - height // 4] if height >= 4 else band
        crossings = np.median([len(_runs(row)) for row in middle])
        if crossings < STROKES:
            continue
        pad = max(2, round(OUTLINE * h))
        region = np.zeros_like(letters)
        region[max(0, start - pad) : stop + pad, max(0, left - pad) : right + pad] = True
        grown = cv2.dilate(letters.astype(np.uint8), np.ones((2 * pad + 1,) * 2, np.uint8)) > 0
        out |= grown & region
    return out


def find(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
    """Where subtitles are in a picture — ``image``, or its ``box`` (left, top, right, bottom:
    the active picture inside black bars) — looked for on a copy at most :data:`DETAIL_WIDTH`
    wide: a bool mask of that copy, or ``None`` when there are none. At the measured blocks'
    working size the strokes of small letters blur into their outlines, so the copy is sharper
    than theirs."""
    left, top, right, bottom = box or (0, 0, image.width, image.height)
    width, height = right - left, bottom - top
    scale = min(1.0, DETAIL_WIDTH / max(1, width))
    start = height - _lower_rows(height)
    lower = image.crop((left, top + start, right, bottom)).convert("RGB")  # only the lower part is searched
    if scale < 1:
        size = (DETAIL_WIDTH, max(1, round(lower.height * scale)))
        lower = lower.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    part = _lower_mask(np.asarray(lower, dtype=np.uint8), max(1, round(height * scale)))
    where = np.zeros((round(start * scale) + part.shape[0], part.shape[1]), bool)
    where[where.shape[0] - part.shape[0] :] = part
    return where if where.any() else None


def paint_out(picture: np.ndarray, where: np.ndarray | None) -> np.ndarray:
    """``picture`` (uint8 RGB, any size) with the subtitles :func:`find` found painted over from
    their surroundings; the same array when there are none."""
    if where is None:
        return picture
    h, w = picture.shape[:2]
    if where.shape != (h, w):
        where = cv2.resize(where.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA) > 0
    return cv2.inpaint(np.ascontiguousarray(picture), where.astype(np.uint8), 3, cv2.INPAINT_TELEA)


def _text_columns(band: np.ndarray, gap: int) -> tuple[int, int]:
    """The columns ``[left, right)`` of the densest run of letters in a band of rows: letters
    and words are closer than ``gap`` (the line's height), other bright things further away."""
    counts = band.sum(axis=0)
    columns = np.flatnonzero(counts)
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > gap) + 1)
    best = max(runs, key=lambda run: counts[run].sum())
    return int(best[0]), int(best[-1]) + 1


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True in a 1-d bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
