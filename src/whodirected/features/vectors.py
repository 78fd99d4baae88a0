"""Feature vectors as unit vectors, block by block: the one geometry that the centroid head,
the familiarity score and the evidence index all share.

A combined backbone (``efficientnet-lite2+grade``) gives several blocks of columns;
:func:`block_unit` makes each block unit length and scales it by the square root of its share
(:func:`shares`: equal, unless the block carries a weight, ``(name, size, weight)``, or its
registry entry gives it another ``weight``), so that
one dot product of two such rows is the weighted mean of their per-block cosine similarities
and no block drowns the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Blocks = Sequence[tuple[str, int]] | Sequence[tuple[str, int, float]] | Sequence[int]


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (cosine similarity becomes a dot product)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


def sizes(blocks: Blocks) -> list[int]:
    """Block sizes from ``[(name, size), ...]`` or ``[size, ...]``."""
    return [int(b) if isinstance(b, (int, np.integer)) else int(b[1]) for b in blocks]


def shares(blocks: Blocks) -> np.ndarray:
    """Each block's share of a similarity, summing to 1: the weight a ``(name, size, weight)``
    block carries, else its registry entry's ``weight`` (1 for a bare size or an unknown name),
    over the total. A block of weight 0 (``faces``) has no share beside others, and an equal one
    when all blocks weigh 0."""
    from whodirected.features.backbones.registry import weighted  # the registry knows each block

    if all(isinstance(b, (int, np.integer)) for b in blocks):
        weights = np.ones(len(blocks))
    else:
        weights = np.asarray([w for *_, w in weighted(blocks)])
    if not weights.any():
        weights = np.ones_like(weights)
    return weights / weights.sum()


def block_unit(x: np.ndarray, blocks: Blocks) -> np.ndarray:
    """Each block of columns made unit length and scaled by the square root of its share."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    edges = np.cumsum([0, *sizes(blocks)])
    scale = np.sqrt(shares(blocks)).astype(np.float32)
    parts = [unit(x[:, a:b]) * s for a, b, s in zip(edges[:-1], edges[1:], scale, strict=True)]
    return np.concatenate(parts, axis=1)


def centroids(x: np.ndarray, y: np.ndarray, n_classes: int, blocks: Blocks) -> np.ndarray:
    """Each class's mean direction, ``(n_classes, d)``: the mean of its rows made
    :func:`block_unit`, made block-unit again (a class without rows gets zeros)."""
    u = block_unit(x, blocks)
    means = np.zeros((n_classes, u.shape[1]), np.float32)
    for c in np.unique(y):
        means[c] = u[y == c].mean(axis=0)
    present = np.isin(np.arange(n_classes), y)
    means[present] = block_unit(means[present], blocks)
    return means


def familiarity(queries: np.ndarray, means: np.ndarray) -> np.ndarray:
    """How much each query row (made :func:`block_unit`) looks like any director: its cosine
    similarity to the nearest class mean of :func:`centroids` (a class without rows skipped)."""
    present = means.any(axis=1)
    if not present.any():
        return np.ones(len(queries), np.float32)
    return (np.atleast_2d(queries) @ means[present].T).max(axis=1)
