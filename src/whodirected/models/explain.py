"""Show why: how much each region of a screenshot pulled the verdict towards a director.

Occlusion, batched: the picture is cut into a grid of cells (:data:`ROWS` rows, as many
columns as keep the cells about square), each cell in turn is painted mid-grey, and every
variant goes through the model in one batch. A cell's heat is how much the director's score
(the head's logit: for the nearest-mean head, its similarity to the director's mean) falls
when that cell is hidden; cells whose hiding helps the director count 0, and the heat is
scaled to sum to 1. Occlusion reaches every block — the network and the grade and style
descriptors alike — where gradients would reach the network alone; ``benchmarks/explain.py``
prints how faithful it is (composites of two directors' frames) and what it costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw

ROWS = 3  # grid rows, columns following the aspect (benchmarks/explain.py: 4 rows took 1.3 s against 0.55, no more faithful)
MAX_COLUMNS = 8
GREY = (128, 128, 128)
OVERLAY_ALPHA = 0.55  # how strongly the hottest cell covers the picture


class Scorer(Protocol):
    """What an explanation needs of a model (:class:`~whodirected.models.model.Model` has it)."""

    classes: list[str]

    def extractors(self) -> list: ...

    def logits(self, features: np.ndarray) -> np.ndarray: ...


@dataclass
class Explanation:
    """A coarse heat map of one picture for one director: ``grid[r][c]`` is the share of the
    evidence for ``director`` that cell holds (all cells sum to 1; all 0 when hiding no cell
    lowers the score)."""

    director: str
    grid: list[list[float]]
    seconds: float

    @property
    def rows(self) -> int:
        return len(self.grid)

    @property
    def columns(self) -> int:
        return len(self.grid[0]) if self.grid else 0

    def to_dict(self) -> dict:
        return {"director": self.director, "rows": self.rows, "columns": self.columns, "grid": self.grid}


def grid_shape(picture: Image.Image, rows: int = ROWS) -> tuple[int, int]:
    """Rows and columns of the grid for ``picture``: cells about square."""
    columns = int(np.clip(round(rows * picture.width / max(1, picture.height)), 1, MAX_COLUMNS))
    return rows, columns


def cells(picture: Image.Image, rows: int, columns: int) -> list[tuple[int, int, int, int]]:
    """The (left, top, right, bottom) box of every cell, row by row."""
    xs = np.linspace(0, picture.width, columns + 1).round().astype(int)
    ys = np.linspace(0, picture.height, rows + 1).round().astype(int)
    return [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(rows) for c in range(columns)]


def features(model: Scorer, pictures: list[Image.Image]) -> np.ndarray:
    """Every block's features of ``pictures``, side by side, one batch per block. A block whose
    input is the same for several pictures computes it once: a network sees only the centre of
    a wide frame, so hiding a cell at its side changes nothing it sees."""
    blocks = []
    for extractor in model.extractors():
        inputs = [extractor.preprocess(p) for p in pictures]
        keys = [np.ascontiguousarray(i).tobytes() for i in inputs]
        first = {key: n for n, key in reversed(list(enumerate(keys)))}
        unique = sorted(set(first.values()))
        computed = dict(zip(unique, extractor.embed([inputs[n] for n in unique]), strict=True))
        blocks.append(np.stack([computed[first[key]] for key in keys]))
    return np.concatenate(blocks, axis=1).astype(np.float32)


def explain(
    model: Scorer, picture: Image.Image, director: str | None = None, rows: int = ROWS
) -> Explanation:
    """The heat map of ``picture`` (an RGB picture as prediction sees it) for ``director``, by
    default the model's top director."""
    start = time.perf_counter()
    rows, columns = grid_shape(picture, rows)
    boxes = cells(picture, rows, columns)
    variants = [picture]
    for box in boxes:
        hidden = picture.copy()
        ImageDraw.Draw(hidden).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=GREY)
        variants.append(hidden)
    scores = model.logits(features(model, variants))
    if director is None:
        target = int(scores[0].argmax())
    elif director in model.classes:
        target = model.classes.index(director)
    else:
        raise ValueError(f"{director!r} is not one of the model's directors: {', '.join(model.classes)}")
    drop = np.maximum(scores[0, target] - scores[1:, target], 0.0)
    heat = drop / drop.sum() if drop.sum() > 0 else drop
    grid = heat.reshape(rows, columns).round(4).tolist()
    return Explanation(model.classes[target], grid, time.perf_counter() - start)


def overlay(picture: Image.Image, explanation: Explanation) -> Image.Image:
    """``picture`` with the heat laid over it: the hotter a cell, the redder (an RGB image)."""
    heat = np.asarray(explanation.grid, dtype=np.float32)
    if heat.max() > 0:
        heat = heat / heat.max()
    small = Image.fromarray((heat * 255).astype(np.uint8), mode="L")
    alpha = small.resize(picture.size, Image.Resampling.BILINEAR)
    red = Image.new("RGB", picture.size, (230, 40, 20))
    mask = alpha.point(lambda v: int(v * OVERLAY_ALPHA))
    return Image.composite(red, picture.convert("RGB"), mask)
